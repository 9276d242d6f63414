/**
 * Offline time-stretch and pitch-shift for the practice mixdown, with the player's own library:
 * Signalsmith Stretch (`signalsmith-stretch`, MIT). Its npm release is a WASM build wrapped for an
 * AudioWorklet; the WASM core has no Web Audio dependency, so this module loads it in a Node
 * thread (the media worker) by giving the package the two AudioWorklet globals it looks for
 * (`AudioWorkletProcessor`, `registerProcessor`, plus `sampleRate`/`currentTime`), building its
 * processor once to get at the WASM instance, and then driving the exported C functions directly
 * (`_seek`, `_process`, `_flush`), as the library's own command-line example does offline:
 *
 *   1. pre-roll: the first `inputLatency` frames go to `seek()` (no output);
 *   2. the rest of the input, then `inputLatency` frames of silence, go to `process()` in blocks,
 *      each asking for the output frames that keep the running total at round(inputSoFar / tempo);
 *   3. `flush(outputLatency)` drains the tail; the first `outputLatency` output frames are latency
 *      and are dropped, so the output is exactly round(input frames / tempo) frames, aligned.
 *
 * Streaming: memory is one block of input and output (a few thousand frames), whatever the length.
 * Runs synchronously per block; callers run it in the media worker, never on the core's thread.
 */

const BLOCK = 4096; // input frames per process() call
/** Fade at the very start and end of the output (seconds): the stretcher may start mid-waveform, which would click. */
const EDGE_FADE_SEC = 0.005;

interface StretchWasm {
  HEAP8: Int8Array;
  _presetDefault(channels: number, sampleRate: number): void;
  _setBuffers(channels: number, length: number): number;
  _inputLatency(): number;
  _outputLatency(): number;
  _reset(): void;
  _setTransposeSemitones(semitones: number, tonalityLimit: number): void;
  _setFormantSemitones(semitones: number, compensate: boolean): void;
  _seek(inputSamples: number, playbackRate: number): void;
  _process(inputSamples: number, outputSamples: number): void;
  _flush(outputSamples: number): void;
}

type ProcessorClass = new (options: unknown) => { wasmModule: StretchWasm | null };

let processorClass: Promise<ProcessorClass> | null = null;

/** The package's AudioWorklet processor class, loaded once per thread with the worklet globals it expects. */
function loadProcessorClass(): Promise<ProcessorClass> {
  processorClass ??= (async () => {
    const g = globalThis as Record<string, unknown>;
    let captured: ProcessorClass | null = null;
    g.sampleRate ??= 44100;
    g.currentTime ??= 0;
    g.AudioWorkletProcessor ??= class {
      port: { postMessage(m: unknown): void; onmessage: unknown; ready?: () => void };
      constructor() {
        const port: { postMessage(m: unknown): void; onmessage: unknown; ready?: () => void } = {
          onmessage: null,
          postMessage: (m: unknown) => {
            if (Array.isArray(m) && m[0] === 'ready') port.ready?.();
          },
        };
        this.port = port;
      }
    };
    g.registerProcessor = (_name: string, cls: ProcessorClass) => {
      captured = cls;
    };
    await import('signalsmith-stretch');
    if (!captured) throw new Error('signalsmith-stretch did not register its processor (was it loaded before the worklet globals were set?).');
    return captured as ProcessorClass;
  })();
  return processorClass;
}

/** A fresh WASM instance of the stretcher (one per render: renders may interleave in one thread). */
async function newInstance(): Promise<StretchWasm> {
  const Proc = await loadProcessorClass();
  const proc = new Proc({ numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] }) as unknown as {
    wasmModule: StretchWasm | null;
    port: { ready?: () => void };
  };
  if (!proc.wasmModule) await new Promise<void>((resolve) => (proc.port.ready = resolve));
  return proc.wasmModule!;
}

export interface StretchSettings {
  /** Speed as a ratio of the original: 0.75 plays at 75 % (output 1/0.75 as long). */
  tempo: number;
  /** Transposition in semitones (fractional = cents), independent of the tempo. */
  semitones: number;
  sampleRate: number;
}

/** Whether the settings change anything (else the mixdown is written untouched). */
export function isIdentity(s: Pick<StretchSettings, 'tempo' | 'semitones'>): boolean {
  return Math.abs(s.tempo - 1) < 1e-9 && Math.abs(s.semitones) < 1e-9;
}

/** Stereo stretcher fed interleaved L/R blocks; output is interleaved stereo too. */
export class OfflineStretch {
  private readonly inLat: number;
  private readonly outLat: number;
  private readonly bufLen: number;
  private readonly ptr: number;
  /** Pre-roll frames collected so far (deinterleaved), until `inLat` are there. */
  private preroll: [Float32Array, Float32Array] | null;
  private prerollFill = 0;
  /** Real input frames seen, frames given to process(), output frames made, latency frames still to drop. */
  private realFrames = 0;
  private processedIn = 0;
  private producedOut = 0;
  private toDrop: number;
  private ended = false;
  /** Output frames handed out so far, and the last `fade` frames held back for the fade-out. */
  private emitted = 0;
  private held = new Float32Array(0);
  private readonly fade: number;

  private constructor(
    private readonly w: StretchWasm,
    private readonly s: StretchSettings,
  ) {
    if (!(s.tempo >= 0.25 && s.tempo <= 4)) throw new RangeError(`Tempo ratio out of range: ${s.tempo}`);
    if (!(Math.abs(s.semitones) <= 24)) throw new RangeError(`Pitch out of range: ${s.semitones} semitones`);
    w._presetDefault(2, s.sampleRate);
    w._reset();
    // As the player's worklet: tonality limit 8 kHz, no formant shift.
    w._setTransposeSemitones(s.semitones, 8000 / s.sampleRate);
    w._setFormantSemitones(0, false);
    this.inLat = w._inputLatency();
    this.outLat = w._outputLatency();
    this.bufLen = Math.max(this.inLat, this.outLat, BLOCK, Math.ceil(BLOCK / s.tempo) + 2);
    this.ptr = w._setBuffers(2, this.bufLen);
    this.preroll = [new Float32Array(this.inLat), new Float32Array(this.inLat)];
    this.toDrop = this.outLat;
    this.fade = Math.max(1, Math.round(EDGE_FADE_SEC * s.sampleRate));
  }

  static async create(s: StretchSettings): Promise<OfflineStretch> {
    return new OfflineStretch(await newInstance(), s);
  }

  /** Frames of output the whole input will give: round(input frames / tempo). */
  static outputFrames(inputFrames: number, tempo: number): number {
    return Math.round(inputFrames / tempo);
  }

  /** The WASM in/out channel buffers (views made fresh: memory may grow). */
  private views(): { inL: Float32Array; inR: Float32Array; outL: Float32Array; outR: Float32Array } {
    const mem = this.w.HEAP8.buffer;
    const bytes = this.bufLen * 4;
    return {
      inL: new Float32Array(mem, this.ptr, this.bufLen),
      inR: new Float32Array(mem, this.ptr + bytes, this.bufLen),
      outL: new Float32Array(mem, this.ptr + 2 * bytes, this.bufLen),
      outR: new Float32Array(mem, this.ptr + 3 * bytes, this.bufLen),
    };
  }

  private finishPreroll(): void {
    const v = this.views();
    v.inL.set(this.preroll![0]);
    v.inR.set(this.preroll![1]);
    this.w._seek(this.inLat, this.s.tempo);
    this.preroll = null;
  }

  /** Runs process() on `n` frames (from interleaved `src` at frame `from`, or silence when src is null); appends output. */
  private run(src: Float32Array | null, from: number, n: number, out: Float32Array[]): void {
    const v = this.views();
    if (src) {
      for (let i = 0; i < n; i++) {
        v.inL[i] = src[2 * (from + i)];
        v.inR[i] = src[2 * (from + i) + 1];
      }
    } else {
      v.inL.fill(0, 0, n);
      v.inR.fill(0, 0, n);
    }
    this.processedIn += n;
    const want = OfflineStretch.outputFrames(this.processedIn, this.s.tempo) - this.producedOut;
    this.w._process(n, want);
    this.producedOut += want;
    this.collect(want, out);
  }

  /** Copies `n` output frames from the WASM buffers, interleaved, dropping latency frames first. */
  private collect(n: number, out: Float32Array[]): void {
    const v = this.views();
    const skip = Math.min(this.toDrop, n);
    this.toDrop -= skip;
    if (n - skip <= 0) return;
    const y = new Float32Array((n - skip) * 2);
    for (let i = skip, j = 0; i < n; i++, j += 2) {
      const l = v.outL[i];
      const r = v.outR[i];
      // Never let a NaN/Infinity reach a file.
      y[j] = Number.isFinite(l) ? l : 0;
      y[j + 1] = Number.isFinite(r) ? r : 0;
    }
    out.push(y);
  }

  /** Feeds interleaved stereo frames; returns the interleaved output ready so far (possibly empty). */
  push(interleaved: Float32Array): Float32Array {
    if (this.ended) throw new Error('OfflineStretch: push() after end()');
    const frames = interleaved.length >> 1;
    this.realFrames += frames;
    const out: Float32Array[] = [];
    let i = 0;
    if (this.preroll) {
      const take = Math.min(frames, this.inLat - this.prerollFill);
      for (let k = 0; k < take; k++) {
        this.preroll[0][this.prerollFill + k] = interleaved[2 * k];
        this.preroll[1][this.prerollFill + k] = interleaved[2 * k + 1];
      }
      this.prerollFill += take;
      i = take;
      if (this.prerollFill === this.inLat) this.finishPreroll();
    }
    while (i < frames) {
      const n = Math.min(BLOCK, frames - i);
      this.run(interleaved, i, n, out);
      i += n;
    }
    return this.emit(concat([this.held, ...out]), false);
  }

  /** Fades in the first frames of the file; holds back the last `fade` frames (or fades them out at the end). */
  private emit(y: Float32Array, last: boolean): Float32Array {
    const frames = y.length >> 1;
    for (let f = 0; this.emitted + f < this.fade && f < frames; f++) {
      const g = (this.emitted + f) / this.fade;
      y[2 * f] *= g;
      y[2 * f + 1] *= g;
    }
    if (last) {
      for (let f = Math.max(0, frames - this.fade); f < frames; f++) {
        const g = (frames - 1 - f) / this.fade;
        y[2 * f] *= g;
        y[2 * f + 1] *= g;
      }
      this.emitted += frames;
      this.held = new Float32Array(0);
      return y;
    }
    const keep = Math.min(frames, this.fade);
    this.held = y.slice((frames - keep) * 2);
    this.emitted += frames - keep;
    return y.subarray(0, (frames - keep) * 2);
  }

  /** Ends the input: pads with silence so the output is exactly round(input frames / tempo) long, drains the tail. */
  end(): Float32Array {
    if (this.ended) return new Float32Array(0);
    this.ended = true;
    const out: Float32Array[] = [];
    if (this.preroll) this.finishPreroll(); // shorter than the latency: the rest of the pre-roll is silence
    // process() must see as many frames as the input had (the pre-roll shifted it by inLat).
    while (this.processedIn < this.realFrames) this.run(null, 0, Math.min(BLOCK, this.realFrames - this.processedIn), out);
    // One flush (it is one-shot in the library); bufLen >= outLat.
    this.w._flush(this.outLat);
    this.collect(this.outLat, out);
    return this.emit(concat([this.held, ...out]), true);
  }
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2 && parts[0].length === 0) return parts[1];
  const n = parts.reduce((a, p) => a + p.length, 0);
  const y = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    y.set(p, o);
    o += p.length;
  }
  return y;
}
