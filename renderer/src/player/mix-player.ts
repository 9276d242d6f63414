/**
 * The stem player: one Web Audio graph, one clock for every stem, sample-accurate.
 *
 *   per stem:  AudioBufferSourceNode (one per chunk) ──► stem GainNode (mute/solo/volume) ─┐
 *                                                                                          ├─► mixBus ──► [insert] ──► master ──► destination
 *   (all chunk sources of all stems are started with the same `when`, computed from one anchor)
 *
 * Audio is streamed, never decoded whole: the player asks a `PcmSource` for chunks of
 * CHUNK_FRAMES frames (planar float32 at the song's rate) a little ahead of the play position and
 * schedules them back to back on the context's clock, so memory stays bounded however long the
 * song is (a few chunks per stem are alive at any time). A running job's stems are only playable
 * up to `ready` (samples the engine has finalised): `setReady()` moves that edge; playback that
 * reaches it waits (`state === 'buffering'`) and goes on by itself as more arrives.
 *
 * ## Seams for practice tools (loop, tempo, pitch)
 * - **Insert**: `setInsert({ input, output })` puts any node chain between the summed stems and
 *   the master gain (mixBus → input … output → master); `setInsert(null)` removes it. The nodes
 *   must belong to `player.ctx`. A pitch shifter / time-stretcher (an AudioWorkletNode) goes here.
 * - **Loop**: `setLoop({ start, end })` (seconds) makes the scheduler wrap from `end` back to
 *   `start`, sample-accurately (the wrap is scheduled, not polled); `setLoop(null)` ends it. The
 *   loop is clamped to what is playable; past `ready` it waits like normal playback.
 * - **Rate**: `setRate(r)` plays every source at playbackRate r (varispeed: tempo and pitch
 *   together); the clock (`currentTime`) stays in song time. An insert can undo the pitch change.
 * - **Schedule**: `schedule` lists the pieces on the context clock (song frames → context time),
 *   so a click track can land on beats exactly; `play(at)` starts at a later context time (count-in).
 * - **Clock**: `currentTime` is the one position every view (waveforms, time readout) follows; it
 *   is derived only from `ctx.currentTime` and the list of scheduled pieces (`posAt`).
 */

export interface PcmSource {
  /**
   * Up to `frames` frames of `track` from `start` (planar: one Float32Array per channel, all of the
   * same length, possibly shorter than asked near the end / the ready edge).
   */
  read(track: string, start: number, frames: number, signal: AbortSignal): Promise<Float32Array[]>;
}

export type PlayerState = 'paused' | 'playing' | 'buffering';

export interface MixPlayerOptions {
  tracks: string[];
  sampleRate: number;
  /** Length of the song in frames (may be an estimate while separating; see `setLength`). */
  totalFrames: number;
  /** Frames playable now (Infinity / omitted = everything). */
  readyFrames?: number;
  source: PcmSource;
  /** Creates the context (tests pass a fake). Default: `new AudioContext({ sampleRate, latencyHint: 'playback' })`. */
  createContext?: (sampleRate: number) => AudioContext;
  onState?(state: PlayerState): void;
  onEnded?(): void;
  onError?(track: string, message: string): void;
  /** Frames per chunk (default 4 s). */
  chunkFrames?: number;
  /** Seconds of audio kept scheduled ahead of the play position (default 1.5 s). */
  aheadSec?: number;
  /** Chunks fetched ahead of the play position (default 2). */
  prefetchChunks?: number;
  /** Scheduler period in ms (default 60; 0 = no timer, call `pump()` yourself). */
  tickMs?: number;
}

interface Chunk {
  index: number;
  start: number;
  /** Frames loaded (may be < CHUNK_FRAMES at the end of the song or at the ready edge). */
  frames: number;
  buffers: Map<string, AudioBuffer> | null;
  loading: Promise<void> | null;
  abort: AbortController | null;
  /** Consecutive failed or empty reads, and when the next try may start (ms, performance.now()). */
  failures: number;
  retryAt: number;
}

/** One stretch of song time scheduled on the context: [ctxStart, ctxStart + frames/(sr·rate)). */
interface Piece {
  ctxStart: number;
  pos: number;
  frames: number;
  rate: number;
  sources: AudioBufferSourceNode[];
}

/** How far ahead of "now" newly (re)started audio is scheduled, in seconds. */
const LEAD_SEC = 0.06;
const RAMP_SEC = 0.012;
const MAX_CACHED_CHUNKS = 6;

export class MixPlayer {
  readonly ctx: AudioContext;
  /** Sum of all stem gains. */
  readonly mixBus: GainNode;
  /** Final gain before the destination. */
  readonly master: GainNode;
  readonly gains = new Map<string, GainNode>();
  readonly tracks: string[];
  readonly sampleRate: number;

  private totalFrames: number;
  private readyFrames: number;
  private readonly source: PcmSource;
  private readonly o: MixPlayerOptions;
  private readonly chunkFrames: number;
  private readonly chunks = new Map<number, Chunk>();
  private pieces: Piece[] = [];
  private insert: { input: AudioNode; output: AudioNode } | null = null;
  private loop: { start: number; end: number } | null = null;
  private rate = 1;
  private playing = false;
  private stateNow: PlayerState = 'paused';
  /** Next song frame to schedule, and where on the context clock it goes. */
  private cursor = 0;
  private cursorCtx = 0;
  /** Position while paused (and before the first piece of a play starts). */
  private pausedAt = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private destroyed = false;
  private targetGains: Record<string, number> = {};

  constructor(o: MixPlayerOptions) {
    if (o.tracks.length === 0) throw new Error('MixPlayer needs at least one track');
    this.o = o;
    this.tracks = [...o.tracks];
    this.sampleRate = o.sampleRate;
    this.totalFrames = Math.max(0, Math.round(o.totalFrames));
    this.readyFrames = o.readyFrames ?? Infinity;
    this.source = o.source;
    this.chunkFrames = o.chunkFrames ?? 4 * o.sampleRate;
    this.ctx = (o.createContext ?? ((sr) => new AudioContext({ sampleRate: sr, latencyHint: 'playback' })))(o.sampleRate);
    this.mixBus = this.ctx.createGain();
    this.master = this.ctx.createGain();
    this.mixBus.connect(this.master);
    this.master.connect(this.ctx.destination);
    for (const t of this.tracks) {
      const g = this.ctx.createGain();
      g.connect(this.mixBus);
      this.gains.set(t, g);
      this.targetGains[t] = 1;
    }
    const tickMs = o.tickMs ?? 60;
    if (tickMs > 0) this.timer = setInterval(() => void this.pump(), tickMs);
  }

  // ------------------------------------------------------------------ public state

  get state(): PlayerState {
    return this.stateNow;
  }
  get isPlaying(): boolean {
    return this.playing;
  }
  /** Song length in seconds. */
  get duration(): number {
    return this.totalFrames / this.sampleRate;
  }
  /** Seconds playable now. */
  get readySec(): number {
    return Math.min(this.readyFrames, this.totalFrames) / this.sampleRate;
  }
  /** Song position in seconds, from the context clock. */
  get currentTime(): number {
    return this.posAt(this.ctx.currentTime) / this.sampleRate;
  }
  /** Gain each track is heading to (after ramps). */
  get gainTargets(): Record<string, number> {
    return { ...this.targetGains };
  }
  get loopRegion(): { start: number; end: number } | null {
    return this.loop ? { start: this.loop.start / this.sampleRate, end: this.loop.end / this.sampleRate } : null;
  }
  get playbackRate(): number {
    return this.rate;
  }
  /**
   * What is scheduled on the context now, in order: each piece plays song frames
   * [pos, pos + frames) from context time ctxStart at `rate` (a loop shows up as pieces that start
   * again at the loop start). Lets other sounds (the click track) land on exact song positions.
   */
  get schedule(): readonly { ctxStart: number; pos: number; frames: number; rate: number }[] {
    return this.pieces.map(({ ctxStart, pos, frames, rate }) => ({ ctxStart, pos, frames, rate }));
  }

  /** Song frame playing at context time `t`. */
  posAt(t: number): number {
    if (!this.playing || this.pieces.length === 0) return this.playing ? this.cursorWhenIdle() : this.pausedAt;
    let hit: Piece | null = null;
    for (const p of this.pieces) {
      if (p.ctxStart <= t) hit = p;
      else break;
    }
    if (!hit) return this.pieces[0].pos; // lead-in before the first piece starts
    const f = (t - hit.ctxStart) * this.sampleRate * hit.rate;
    return f >= hit.frames ? hit.pos + hit.frames : hit.pos + f;
  }

  // ------------------------------------------------------------------ transport

  /** Plays from the current position; `at` (context seconds) delays the start, e.g. after a count-in. */
  async play(at?: number): Promise<void> {
    if (this.destroyed || this.playing) return;
    if (this.ctx.state === 'suspended') await this.ctx.resume();
    if (this.pausedAt >= this.totalFrames) this.pausedAt = 0;
    this.playing = true;
    this.startAt(this.pausedAt);
    if (at !== undefined && at > this.cursorCtx) this.cursorCtx = at;
    await this.pump();
  }

  pause(): void {
    if (!this.playing) return;
    const pos = this.posAt(this.ctx.currentTime);
    this.stopSources();
    this.playing = false;
    this.pausedAt = Math.min(pos, this.totalFrames);
    this.setState('paused');
  }

  toggle(): Promise<void> {
    if (this.playing) {
      this.pause();
      return Promise.resolve();
    }
    return this.play();
  }

  /** Jumps to `sec` (clamped to the song; beyond `ready` it waits there). */
  seek(sec: number): void {
    const f = Math.round(Math.max(0, Math.min(sec * this.sampleRate, this.totalFrames)));
    if (!this.playing) {
      this.pausedAt = f;
      return;
    }
    this.startAt(f);
    void this.pump();
  }

  // ------------------------------------------------------------------ mixer

  /** Gain per track (0..1; missing = 0), ramped over a few ms so changes never click. */
  setGains(gains: Record<string, number>): void {
    const now = this.ctx.currentTime;
    for (const [t, g] of this.gains) {
      const v = Math.max(0, Math.min(1, Number.isFinite(gains[t]) ? gains[t] : 0));
      if (this.targetGains[t] === v) continue;
      this.targetGains[t] = v;
      const p = g.gain;
      p.cancelScheduledValues(now);
      p.setValueAtTime(p.value, now);
      p.linearRampToValueAtTime(v, now + RAMP_SEC);
    }
  }

  /** Puts a node chain between the stem mix and the master gain (null removes it). */
  setInsert(chain: { input: AudioNode; output: AudioNode } | null): void {
    this.mixBus.disconnect();
    if (this.insert) this.insert.output.disconnect();
    this.insert = chain;
    if (chain) {
      this.mixBus.connect(chain.input);
      chain.output.connect(this.master);
    } else this.mixBus.connect(this.master);
  }

  /** Loops [start, end) seconds (null = no loop). */
  setLoop(region: { start: number; end: number } | null): void {
    if (region) {
      const s = Math.max(0, Math.round(region.start * this.sampleRate));
      const e = Math.min(this.totalFrames, Math.round(region.end * this.sampleRate));
      if (!(e > s)) throw new Error(`Loop end (${region.end.toFixed(2)} s) must be after its start (${region.start.toFixed(2)} s).`);
      this.loop = { start: s, end: e };
    } else this.loop = null;
    if (this.playing) {
      const pos = this.posAt(this.ctx.currentTime);
      this.startAt(this.loop && pos >= this.loop.end ? this.loop.start : pos);
      void this.pump();
    }
  }

  /** Varispeed: every stem at playbackRate r (0.25..4). */
  setRate(r: number): void {
    if (!(r >= 0.25 && r <= 4)) throw new Error(`Playback rate ${r} is out of range (0.25 to 4).`);
    if (r === this.rate) return;
    const pos = this.posAt(this.ctx.currentTime);
    this.rate = r;
    if (this.playing) {
      this.startAt(pos);
      void this.pump();
    }
  }

  // ------------------------------------------------------------------ progressive

  /** Frames playable now (the engine's `ready`); grows while the job runs. */
  setReady(frames: number): void {
    if (frames === this.readyFrames) return;
    this.readyFrames = frames;
    void this.pump();
  }

  /** The song's length became known exactly (e.g. at the end of a job). */
  setLength(frames: number): void {
    this.totalFrames = Math.max(0, Math.round(frames));
    if (this.loop && this.loop.end > this.totalFrames) this.loop = this.loop.start < this.totalFrames ? { ...this.loop, end: this.totalFrames } : null;
    void this.pump();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.timer) clearInterval(this.timer);
    this.stopSources();
    this.playing = false;
    for (const c of this.chunks.values()) c.abort?.abort();
    this.chunks.clear();
    void this.ctx.close().catch(() => {});
  }

  // ------------------------------------------------------------------ scheduler

  /** Frames that can be scheduled: the ready prefix of the song. */
  private get playable(): number {
    return Math.min(this.readyFrames, this.totalFrames);
  }

  private cursorWhenIdle(): number {
    return this.cursor;
  }

  private setState(s: PlayerState): void {
    if (s === this.stateNow) return;
    this.stateNow = s;
    this.o.onState?.(s);
  }

  private stopSources(): void {
    for (const p of this.pieces)
      for (const s of p.sources) {
        try {
          s.stop();
        } catch {
          /* never started */
        }
        s.disconnect();
      }
    this.pieces = [];
  }

  /** (Re)starts the schedule at song frame `pos`, LEAD_SEC from now. */
  private startAt(pos: number): void {
    this.stopSources();
    this.cursor = Math.max(0, Math.min(pos, this.totalFrames));
    this.cursorCtx = this.ctx.currentTime + LEAD_SEC;
    this.pausedAt = this.cursor;
  }

  private chunkFor(index: number): Chunk {
    let c = this.chunks.get(index);
    if (!c) {
      c = { index, start: index * this.chunkFrames, frames: 0, buffers: null, loading: null, abort: null, failures: 0, retryAt: 0 };
      this.chunks.set(index, c);
    }
    return c;
  }

  /** Frames a chunk could hold now (limited by the song's end and the ready edge). */
  private available(c: Chunk): number {
    return Math.max(0, Math.min(this.chunkFrames, this.playable - c.start));
  }

  private load(c: Chunk): void {
    const want = this.available(c);
    if (c.loading || want <= 0 || c.frames >= want || performance.now() < c.retryAt) return;
    const abort = new AbortController();
    c.abort = abort;
    c.loading = (async () => {
      try {
        const data = await Promise.all(this.tracks.map((t) => this.source.read(t, c.start, want, abort.signal)));
        if (this.destroyed || abort.signal.aborted) return;
        // A short read on any track limits the chunk (every track must cover the same frames).
        const frames = Math.min(...data.map((d) => d[0]?.length ?? 0));
        if (frames <= c.frames) {
          // Nothing new yet (the server is a moment behind the ready edge we were told): try again soon.
          c.retryAt = performance.now() + 300;
          return;
        }
        const buffers = new Map<string, AudioBuffer>();
        this.tracks.forEach((t, i) => {
          const chans = data[i];
          const b = this.ctx.createBuffer(2, frames, this.sampleRate);
          for (let ch = 0; ch < 2; ch++) b.copyToChannel((chans[ch] ?? chans[0]).subarray(0, frames) as Float32Array<ArrayBuffer>, ch);
          buffers.set(t, b);
        });
        c.buffers = buffers;
        c.frames = frames;
        c.failures = 0;
      } catch (e) {
        if (abort.signal.aborted || this.destroyed) return;
        // A stem can vanish for a moment (renamed into place when its job finishes): retry with
        // a growing pause, and say so only when it keeps failing.
        c.failures++;
        c.retryAt = performance.now() + Math.min(5000, 250 * 2 ** c.failures);
        if (c.failures === 3) this.o.onError?.(this.tracks.join(', '), e instanceof Error ? e.message : String(e));
      } finally {
        c.loading = null;
        c.abort = null;
      }
      if (!this.destroyed) void this.pump();
    })();
  }

  /** Drops chunks far from the play position (memory stays bounded). */
  private evict(): void {
    if (this.chunks.size <= MAX_CACHED_CHUNKS) return;
    const cur = Math.floor(this.cursor / this.chunkFrames);
    const keep = new Set<number>([cur, cur + 1, cur + 2, cur - 1]);
    if (this.loop) {
      const a = Math.floor(this.loop.start / this.chunkFrames);
      const b = Math.floor((this.loop.end - 1) / this.chunkFrames);
      if (b - a < MAX_CACHED_CHUNKS - 3) for (let i = a; i <= b; i++) keep.add(i);
    }
    for (const [i, c] of this.chunks) {
      if (keep.has(i)) continue;
      c.abort?.abort();
      this.chunks.delete(i);
      if (this.chunks.size <= MAX_CACHED_CHUNKS) break;
    }
  }

  /**
   * Schedules audio up to `aheadSec` past now, starts fetches ahead of that, detects buffering
   * and the end. Called by the timer, after loads, and by every transport change.
   */
  async pump(): Promise<void> {
    if (this.destroyed) return;
    if (!this.playing) return;
    const now = this.ctx.currentTime;
    const ahead = this.o.aheadSec ?? 1.5;
    const sr = this.sampleRate;
    // Forget pieces that have finished playing (keep the last one for the clock).
    while (this.pieces.length > 1 && this.pieces[1].ctxStart <= now) this.pieces.shift();

    let waiting = false;
    while (this.cursorCtx < now + ahead) {
      if (this.loop && this.cursor === this.loop.end) this.cursor = this.loop.start;
      if (this.cursor >= this.totalFrames) break;
      const c = this.chunkFor(Math.floor(this.cursor / this.chunkFrames));
      const inChunk = this.cursor - c.start;
      if (c.frames <= inChunk) {
        // Not loaded (or loaded only up to an older ready edge): fetch, and wait for it.
        this.load(c);
        waiting = true;
        break;
      }
      if (this.cursorCtx < now) {
        // Late (data arrived after its time, or we were waiting): restart just ahead of now.
        this.cursorCtx = now + LEAD_SEC;
      }
      let frames = c.frames - inChunk;
      if (this.loop && this.cursor < this.loop.end) frames = Math.min(frames, this.loop.end - this.cursor);
      const when = this.cursorCtx;
      const sources: AudioBufferSourceNode[] = [];
      for (const t of this.tracks) {
        const s = this.ctx.createBufferSource();
        s.buffer = c.buffers!.get(t)!;
        s.playbackRate.value = this.rate;
        s.connect(this.gains.get(t)!);
        s.start(when, inChunk / sr, frames / sr);
        sources.push(s);
      }
      this.pieces.push({ ctxStart: when, pos: this.cursor, frames, rate: this.rate, sources });
      this.cursor += frames;
      this.cursorCtx = when + frames / sr / this.rate;
    }

    // Prefetch the next chunks while there is time.
    const cur = Math.floor(this.cursor / this.chunkFrames);
    const want: number[] = [];
    for (let i = 0; i <= (this.o.prefetchChunks ?? 2); i++) want.push(cur + i);
    if (this.loop && this.cursor <= this.loop.end) want.push(Math.floor(this.loop.start / this.chunkFrames));
    for (const idx of want) if (idx * this.chunkFrames < this.playable) this.load(this.chunkFor(idx));
    this.evict();

    // State: buffering when the audio scheduled so far has run out and more is not there yet.
    const scheduledEnd = this.cursorCtx;
    if (this.cursor >= this.totalFrames && !this.loop) {
      if (now >= scheduledEnd) {
        // Played to the end: stop and rewind, as a media element does.
        this.stopSources();
        this.playing = false;
        this.pausedAt = 0;
        this.cursor = 0;
        this.setState('paused');
        this.o.onEnded?.();
        return;
      }
      this.setState('playing');
      return;
    }
    if ((waiting || this.cursor >= this.playable) && now >= scheduledEnd - 0.005) this.setState('buffering');
    else this.setState('playing');
  }
}

/** Reads raw PCM ranges (float32 LE interleaved stereo) over HTTP Range from the media service. */
export class HttpPcmSource implements PcmSource {
  constructor(
    private readonly urlFor: (track: string) => string,
    private readonly channels = 2,
  ) {}

  async read(track: string, start: number, frames: number, signal: AbortSignal): Promise<Float32Array[]> {
    const bpf = 4 * this.channels;
    const res = await fetch(pcmUrl(this.urlFor(track)), { headers: { Range: `bytes=${start * bpf}-${(start + frames) * bpf - 1}` }, signal });
    if (res.status === 416) return Array.from({ length: this.channels }, () => new Float32Array(0));
    if (!res.ok) throw new Error(`${track}: the audio could not be loaded (HTTP ${res.status}).`);
    const buf = await res.arrayBuffer();
    const n = Math.floor(buf.byteLength / bpf);
    const inter = new Float32Array(buf, 0, n * this.channels);
    const out = Array.from({ length: this.channels }, () => new Float32Array(n));
    for (let i = 0; i < n; i++) for (let c = 0; c < this.channels; c++) out[c][i] = inter[i * this.channels + c];
    return out;
  }
}

/** The raw-PCM form of a media URL (float32 LE, interleaved stereo at the model's rate). */
export function pcmUrl(mediaUrl: string): string {
  return `${mediaUrl}${mediaUrl.includes('?') ? '&' : '?'}pcm=f32`;
}
