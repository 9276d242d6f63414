/**
 * Plays several stems of one song in step: one HTMLAudioElement per track, all started,
 * paused and seeked together. The first track is the master clock; the others are nudged
 * back onto it when they drift more than a few tens of milliseconds. Gains are element volumes.
 */
export interface StemPlayerEvents {
  onPlayState?(playing: boolean): void;
  onError?(stem: string, message: string): void;
}

const MAX_DRIFT_SEC = 0.04;

export class StemPlayer {
  readonly elements = new Map<string, HTMLAudioElement>();
  private master: HTMLAudioElement;
  private playing = false;
  private raf = 0;
  private knownDuration: number;

  constructor(
    tracks: { stem: string; url: string }[],
    durationSec: number,
    private readonly events: StemPlayerEvents = {},
    /** Where the <audio> elements live in the DOM (hidden), so they can be inspected; optional. */
    host?: HTMLElement | null,
  ) {
    if (tracks.length === 0) throw new Error('StemPlayer needs at least one track');
    this.knownDuration = durationSec;
    for (const { stem, url } of tracks) {
      const el = new Audio();
      el.preload = 'auto';
      el.src = url;
      el.dataset.stem = stem;
      el.addEventListener('error', () => this.events.onError?.(stem, el.error?.message || 'the file could not be loaded'));
      this.elements.set(stem, el);
      host?.appendChild(el);
    }
    this.master = this.elements.values().next().value as HTMLAudioElement;
    this.master.addEventListener('ended', () => {
      this.pause();
      this.seek(0);
    });
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  get currentTime(): number {
    return this.master.currentTime;
  }

  get duration(): number {
    const d = this.master.duration;
    return Number.isFinite(d) && d > 0 ? d : this.knownDuration;
  }

  async play(): Promise<void> {
    if (this.playing) return;
    const t = this.master.currentTime;
    for (const el of this.elements.values()) if (Math.abs(el.currentTime - t) > 0.001) el.currentTime = t;
    this.playing = true;
    this.events.onPlayState?.(true);
    try {
      await Promise.all([...this.elements.values()].map((el) => el.play()));
    } catch (e) {
      this.pause();
      throw e;
    }
    this.loop();
  }

  pause(): void {
    for (const el of this.elements.values()) el.pause();
    cancelAnimationFrame(this.raf);
    if (this.playing) {
      this.playing = false;
      this.events.onPlayState?.(false);
    }
    // Line everyone up on the master, so the next play starts in step.
    const t = this.master.currentTime;
    for (const el of this.elements.values()) if (el !== this.master) el.currentTime = t;
  }

  toggle(): Promise<void> {
    if (this.playing) {
      this.pause();
      return Promise.resolve();
    }
    return this.play();
  }

  seek(sec: number): void {
    const t = Math.max(0, Math.min(sec, this.duration || sec));
    for (const el of this.elements.values()) el.currentTime = t;
  }

  setGains(gains: Record<string, number>): void {
    for (const [stem, el] of this.elements) {
      const g = gains[stem] ?? 0;
      el.volume = Math.max(0, Math.min(1, g));
    }
  }

  destroy(): void {
    this.pause();
    for (const el of this.elements.values()) {
      el.removeAttribute('src');
      el.load();
      el.remove();
    }
    this.elements.clear();
  }

  private loop = () => {
    if (!this.playing) return;
    const t = this.master.currentTime;
    for (const el of this.elements.values()) {
      if (el !== this.master && !el.seeking && Math.abs(el.currentTime - t) > MAX_DRIFT_SEC) el.currentTime = t;
    }
    this.raf = requestAnimationFrame(this.loop);
  };
}
