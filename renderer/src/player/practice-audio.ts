/**
 * The audio side of the practice tools, on top of a MixPlayer's seams:
 *
 * - **Tempo / pitch**: tempo is varispeed (`player.setRate(tempo / 100)`, every stem together, the
 *   clock stays in song time); a Signalsmith Stretch AudioWorkletNode in the insert seam transposes
 *   the summed stems by `pitchShiftSemitones()`, which undoes the varispeed pitch change and adds
 *   the asked pitch. At 100 % and pitch 0 there is no insert (default playback is untouched).
 *   The worklet module is served as a same-origin file (vite emits the package's .mjs as an
 *   asset, `?url`): the app's CSP allows scripts from 'self' only, so the library's default
 *   blob: module would be refused.
 * - **Click track**: a click on every beat of the job's grid, placed with the player's `schedule`
 *   (song frames → context time), so it lands on the beat exactly, also across a loop's wrap;
 *   delayed by the stretch's latency while the insert is on, like the music.
 * - **Count-in**: one bar of clicks, then `player.play(at)` starts on the next beat.
 */
import type { StretchNode } from 'signalsmith-stretch';
import type { MixPlayer } from './mix-player.ts';
import { isBypass, pitchShiftSemitones } from './practice-store.ts';

export type CreateStretch = (ctx: AudioContext) => Promise<StretchNode>;

/** Loads signalsmith-stretch on first use, with its worklet module from our own origin. */
export const loadStretch: CreateStretch = async (ctx) => {
  if (typeof AudioWorkletNode === 'undefined' || !ctx.audioWorklet) throw new Error('this window has no AudioWorklet');
  const [{ default: create }, { default: moduleUrl }] = await Promise.all([import('signalsmith-stretch'), import('signalsmith-stretch?url')]);
  create.moduleUrl = new URL(moduleUrl, document.baseURI).href;
  return create(ctx);
};

export interface PracticeAudioOptions {
  createStretch?: CreateStretch;
  /** Click scheduler period in ms (default 50; 0 = call `tick()` yourself). */
  tickMs?: number;
}

interface ScheduledClick {
  /** Piece start (context time) the click belongs to, or NaN for count-in clicks. */
  piece: number;
  /** When that piece ends (context time): a piece gone from the schedule before it ended was stopped. */
  pieceEnd: number;
  key: string;
  when: number;
  src: AudioBufferSourceNode;
}

const CLICK_SEC = 0.035;
/** The worklet answers within a second when it works; a hang (module or WASM refused) becomes an error. */
const STRETCH_TIMEOUT_MS = 10_000;

export class PracticeAudio {
  readonly clickGain: GainNode;
  private stretch: StretchNode | null = null;
  private stretchLoading: Promise<StretchNode> | null = null;
  private insertOn = false;
  /** Seconds the insert delays the music (clicks are delayed the same). */
  private latency = 0;
  private token = 0;
  private beats: number[] = [];
  private accentEvery = 4;
  private firstDownbeat = 0;
  private clickOn = false;
  private clicks: ScheduledClick[] = [];
  private readonly sounds: { beat: AudioBuffer; accent: AudioBuffer };
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly createStretch: CreateStretch;

  constructor(
    readonly player: MixPlayer,
    o: PracticeAudioOptions = {},
  ) {
    this.createStretch = o.createStretch ?? loadStretch;
    const ctx = player.ctx;
    this.clickGain = ctx.createGain();
    this.clickGain.gain.value = 0.6;
    this.clickGain.connect(player.master);
    this.sounds = { beat: clickSound(ctx, 1000), accent: clickSound(ctx, 1600) };
    const tickMs = o.tickMs ?? 50;
    if (tickMs > 0) this.timer = setInterval(() => this.tick(), tickMs);
  }

  get insertActive(): boolean {
    return this.insertOn;
  }
  get latencySec(): number {
    return this.latency;
  }

  /**
   * Applies tempo (percent) and pitch (semitones + cents) to every stem together. Rejects when the
   * time-stretch cannot load (the tempo is then left unchanged, so the pitch never drifts).
   */
  async setTempoPitch(tempoPct: number, semis: number, cents: number): Promise<void> {
    const t = ++this.token;
    if (isBypass(tempoPct, semis, cents)) {
      this.player.setRate(1);
      if (this.insertOn) {
        this.player.setInsert(null);
        this.insertOn = false;
        this.latency = 0;
      }
      return;
    }
    const node = await this.ensureStretch();
    if (t !== this.token) return; // a newer setting won
    await node.schedule({ active: true, semitones: pitchShiftSemitones(tempoPct, semis, cents) });
    if (t !== this.token) return;
    this.player.setRate(tempoPct / 100);
    if (!this.insertOn) {
      this.player.setInsert({ input: node, output: node });
      this.insertOn = true;
      this.latency = await node.latency().catch(() => 0);
    }
  }

  private ensureStretch(): Promise<StretchNode> {
    if (this.stretch) return Promise.resolve(this.stretch);
    if (!this.stretchLoading) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`it did not start within ${STRETCH_TIMEOUT_MS / 1000} s`)), STRETCH_TIMEOUT_MS);
      });
      this.stretchLoading = Promise.race([this.createStretch(this.player.ctx), timeout]).finally(() => clearTimeout(timer)).then(
        (n) => (this.stretch = n),
        (e) => {
          this.stretchLoading = null;
          throw new Error(`Tempo and pitch need the time-stretch, which did not load: ${e instanceof Error ? e.message : String(e)}`);
        },
      );
    }
    return this.stretchLoading;
  }

  /** Click on every beat of `beats` (seconds, ascending); `downbeat` marks bar starts (accented). */
  setClick(on: boolean, level: number, beats: readonly number[] | null | undefined, downbeat?: number | null, beatsPerBar = 4): void {
    this.clickOn = on && !!beats && beats.length > 0;
    this.beats = beats ? [...beats] : [];
    this.accentEvery = beatsPerBar;
    const db = downbeat == null ? 0 : this.beats.findIndex((b) => Math.abs(b - downbeat) < 1e-3);
    this.firstDownbeat = Math.max(0, db);
    const now = this.player.ctx.currentTime;
    this.clickGain.gain.setValueAtTime(Math.max(0, Math.min(1, level)), now);
    if (!this.clickOn) this.cancelClicks((c) => !Number.isNaN(c.piece));
    this.tick();
  }

  /**
   * One bar of clicks at `bpm` (scaled by the playback rate), then playback from the current
   * position on the next beat.
   */
  async playWithCountIn(bpm: number, beatsPerBar = 4): Promise<void> {
    const ctx = this.player.ctx;
    if (ctx.state === 'suspended') await ctx.resume();
    const interval = 60 / bpm / this.player.playbackRate;
    const t0 = ctx.currentTime + 0.1;
    for (let i = 0; i < beatsPerBar; i++) this.addClick(NaN, `count:${t0}:${i}`, t0 + i * interval + this.latency, i === 0, NaN);
    await this.player.play(t0 + beatsPerBar * interval);
  }

  /** Schedules the clicks of the beats inside what the player has scheduled; drops stale ones. */
  tick(): void {
    const p = this.player;
    const now = p.ctx.currentTime;
    const schedule = p.isPlaying ? p.schedule : [];
    // Clicks of pieces that were stopped (seek, pause, rate change) and still lie ahead go.
    const live = new Set(schedule.map((s) => s.ctxStart));
    this.cancelClicks((c) => c.when > now && (Number.isNaN(c.piece) ? !p.isPlaying : !live.has(c.piece) && c.pieceEnd > now));
    this.clicks = this.clicks.filter((c) => c.when + CLICK_SEC > now);
    if (!this.clickOn || this.beats.length === 0) return;
    const sr = p.sampleRate;
    for (const piece of schedule) {
      const from = piece.pos / sr;
      const to = (piece.pos + piece.frames) / sr;
      for (let i = lowerBound(this.beats, from); i < this.beats.length && this.beats[i] < to; i++) {
        const when = piece.ctxStart + (this.beats[i] * sr - piece.pos) / (sr * piece.rate) + this.latency;
        if (when < now) continue;
        const key = `${piece.ctxStart}:${i}`;
        if (this.clicks.some((c) => c.key === key)) continue;
        const end = piece.ctxStart + piece.frames / (sr * piece.rate);
        this.addClick(piece.ctxStart, key, when, (((i - this.firstDownbeat) % this.accentEvery) + this.accentEvery) % this.accentEvery === 0, end);
      }
    }
  }

  /** Context times of the clicks still to come (for tests and inspection). */
  get pendingClicks(): number[] {
    return this.clicks.map((c) => c.when);
  }

  destroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.cancelClicks(() => true);
    this.clickGain.disconnect();
    if (this.insertOn) this.player.setInsert(null);
    this.insertOn = false;
    this.stretch?.disconnect();
    this.stretch = null;
  }

  private addClick(piece: number, key: string, when: number, accent: boolean, pieceEnd: number): void {
    const src = this.player.ctx.createBufferSource();
    src.buffer = accent ? this.sounds.accent : this.sounds.beat;
    src.connect(this.clickGain);
    src.start(when, 0, CLICK_SEC);
    this.clicks.push({ piece, pieceEnd, key, when, src });
  }

  private cancelClicks(which: (c: ScheduledClick) => boolean): void {
    this.clicks = this.clicks.filter((c) => {
      if (!which(c)) return true;
      try {
        c.src.stop();
      } catch {
        /* already stopped */
      }
      c.src.disconnect();
      return false;
    });
  }
}

/** A short decaying sine blip (no click at its ends: it starts at zero phase and decays to ~0). */
function clickSound(ctx: BaseAudioContext, hz: number): AudioBuffer {
  const sr = ctx.sampleRate;
  const n = Math.max(1, Math.round(CLICK_SEC * sr));
  const b = ctx.createBuffer(2, n, sr);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    const fade = Math.min(1, (n - 1 - i) / (0.005 * sr)); // 5 ms fade-out to exactly 0
    d[i] = Math.sin(2 * Math.PI * hz * t) * Math.exp(-t / 0.008) * fade;
  }
  b.copyToChannel(d, 0);
  b.copyToChannel(d, 1);
  return b;
}

function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
