/**
 * The separator: one ONNX Runtime session, reused across files, applying HTDemucs the way
 * `demucs.apply.apply_model` does — segments with overlap 0.25 and triangle weights (each chunk
 * of the last, shorter kind centred and zero-padded as TensorChunk.padded does, then center-trimmed),
 * optional random shifts averaged — streaming: the input is decoded as it goes and finished
 * samples are written as soon as no later segment touches them, so memory does not grow with
 * the length of the song.
 *
 * One deliberate difference from `demucs.separate`: the mixture's mean is not subtracted and added
 * back to every stem (that plants the mixture's DC offset into all stems; the ONNX graph
 * normalises its own input).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { defaultCacheDir, resolveModel, type LocateOptions, type ModelManifest } from '../models/registry.ts';
import { decodeAudio, probeAudio } from './decode.ts';
import { SpecTransform, triangleWeights } from './dsp.ts';
import { ShiftAccumulator } from './shift-accumulator.ts';
import { openAudioWriter, type AudioWriter } from './encode.ts';
import { DemixError, toErrorInfo } from './errors.ts';
import { optimizedGraphPath, providerOrder, ThreadRunner, type IoNames, type ModelRunner, type ProviderName, type RunResult } from './session.ts';
import { FallbackRunner } from './fallback-runner.ts';
import { chooseTrustedProvider, runSegment, selfCheckClip, VerdictCache } from './provider-check.ts';
import type { DeviceChoice, Progress, RunControl, SeparateOptions, SeparateResult, StemFile } from './types.ts';
import { DEFAULT_SEPARATE_OPTIONS } from './types.ts';
import { FeatureCollector, finishAnalysis } from './analysis/index.ts';
import type { SongAnalysis } from './types.ts';
import { mulberry32 } from './prng.ts';

export interface SeparatorOptions extends LocateOptions {
  modelId?: string;
  device?: DeviceChoice;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /** `auto` only: run the GPU self-checks again instead of using cached verdicts. */
  recheck?: boolean;
  /** `auto` only: the providers to consider (default: this machine's, see providerOrder). */
  providerCandidates?: ProviderName[];
  /** Lines worth showing while starting (a self-check is running). */
  log?: (line: string) => void;
  /** Called when a provider fails mid-job and the job continues on the CPU. */
  onFallback?: (reason: string) => void;
  /** Creates the model runner (default: ThreadRunner). Tests pass test doubles here. */
  runnerFactory?: (weightsPath: string, device: DeviceChoice, names: IoNames, opts: { threads?: number; graphCache?: string | null }) => Promise<ModelRunner>;
}

/** One segment's input buffers (owned by the model runner while a run is in flight). */
interface InputSet {
  mix: Float32Array;
  spec: Float32Array;
}

/** Receives finished samples: planar per source [source][channel] views of equal length. */
type Sink = (sources: Float32Array[][], frames: number) => Promise<void>;


export class Separator {
  private readonly spec: SpecTransform;
  private readonly weights: Float32Array;
  private readonly stride: number;
  private busy = false;
  /** Total session.run time and count, for benchmarks. */
  runMs = 0;
  runs = 0;

  private constructor(
    readonly manifest: ModelManifest,
    readonly weightsPath: string,
    private readonly runner: ModelRunner,
    private readonly checkReason: string | null = null,
  ) {
    const { segment, stft, overlap } = manifest;
    this.spec = new SpecTransform(stft.nFft, stft.hop, segment);
    this.weights = triangleWeights(segment);
    this.stride = Math.floor((1 - overlap) * segment);
  }

  /** Execution provider that runs the model. */
  get provider(): ProviderName {
    return this.runner.provider;
  }
  /** Why the requested/preferred provider was not used, or null. */
  get fallbackReason(): string | null {
    const r = [this.checkReason, this.runner.fallbackReason].filter(Boolean);
    return r.length ? r.join('; ') : null;
  }
  get loadMs(): number {
    return this.runner.loadMs;
  }

  private newInputSet(): InputSet {
    return { mix: new Float32Array(2 * this.manifest.segment), spec: new Float32Array(4 * this.spec.bins * this.spec.frames) };
  }

  static async create(opts: SeparatorOptions = {}): Promise<Separator> {
    const { manifest, weightsPath } = await resolveModel(opts.modelId ?? 'htdemucs', opts);
    const names = { mix: manifest.io.inputs.mix, spec: manifest.io.inputs.spec, specOut: manifest.io.outputs.spec, timeOut: manifest.io.outputs.time };
    const create = opts.runnerFactory ?? ThreadRunner.create;
    const graphCache = optimizedGraphPath(opts.cacheDir ?? defaultCacheDir(), manifest.weights.sha256);
    const make = (d: DeviceChoice) => create(weightsPath, d, names, { threads: opts.threads, graphCache });
    let device = opts.device ?? 'auto';
    let checkReason: string | null = null;
    if (device === 'auto') {
      // A GPU provider is used only after its self-check (cached per machine/provider/version).
      const candidates = (opts.providerCandidates ?? providerOrder('auto')).filter((p) => p !== 'cpu');
      if (candidates.length) {
        const choice = await chooseTrustedProvider(candidates, make, manifest, { cache: new VerdictCache(opts.cacheDir), recheck: opts.recheck, log: opts.log });
        device = choice.provider;
        checkReason = choice.fallbackReason;
      }
    }
    let runner = await make(device);
    // A provider that fails mid-job hands the rest of the job to the CPU.
    if (runner.provider !== 'cpu') runner = new FallbackRunner(runner, () => make('cpu'), opts.onFallback);
    return new Separator(manifest, weightsPath, runner, checkReason);
  }

  get stems(): string[] {
    return this.manifest.stems;
  }

  /**
   * Steady-state time of one model segment here, ms: a warm-up run, then one timed run of the
   * self-check clip (never while a job runs). `demix worker` sets its job lock from it.
   */
  async timeSegment(): Promise<number> {
    if (this.busy) throw new Error('the separator is busy with a job');
    this.busy = true;
    try {
      const mix = selfCheckClip(this.manifest.segment, this.manifest.sampleRate);
      await runSegment(this.runner, this.manifest, mix);
      return (await runSegment(this.runner, this.manifest, mix)).runMs;
    } finally {
      this.busy = false;
    }
  }

  async dispose(): Promise<void> {
    await this.runner.dispose();
  }

  /** Starts the model on one prepared segment (STFT already done). */
  private startRun(set: InputSet): Promise<RunResult & InputSet> {
    const { segment } = this.manifest;
    return this.runner.run(set.mix, [1, 2, segment], set.spec, [1, 4, this.spec.bins, this.spec.frames]);
  }

  /** The model's spectral branch through the iSTFT, added onto its time branch: [S][2][segment]. */
  private finishRun(res: RunResult): Float32Array {
    const S = this.manifest.stems.length;
    const { segment } = this.manifest;
    this.runMs += res.runMs;
    this.runs++;
    if (res.timeOut.length !== S * 2 * segment) throw new DemixError('INTERNAL', `Model output has ${res.timeOut.length} samples, expected ${S * 2 * segment}: the manifest does not match the weights.`);
    this.spec.inverseAdd(res.specOut, res.timeOut, S);
    return res.timeOut;
  }

  /**
   * One pass of apply_model's split loop over a stream: `zerosBefore` zero samples are prepended
   * (a shift) and dropped again from the output.
   */
  private async pass(
    chunks: AsyncIterable<Float32Array>,
    zerosBefore: number,
    sink: Sink,
    onSegment: (estimatedTotal: number | null) => void,
    opts: { skipCoveredTail: boolean; signal?: AbortSignal; expectedFrames: number | null },
  ): Promise<number> {
    const { segment } = this.manifest;
    const S = this.manifest.stems.length;
    const stride = this.stride;
    const w = this.weights;
    // Input ring: planar, absolute sample index inStart .. inStart + inLen.
    const inCap = 2 * segment + stride;
    const inL = new Float32Array(inCap);
    const inR = new Float32Array(inCap);
    let inStart = 0;
    let inLen = 0;
    // Output accumulators: planar per source/channel, absolute index accStart ...
    const accCap = segment + stride;
    const acc: Float32Array[][] = Array.from({ length: S }, () => [new Float32Array(accCap), new Float32Array(accCap)]);
    const sumW = new Float32Array(accCap);
    let accStart = 0;
    let emitted = 0; // absolute index of the next sample to hand to the sink
    const outViews: Float32Array[][] = Array.from({ length: S }, () => [new Float32Array(stride + segment), new Float32Array(stride + segment)]);

    const iterator = chunks[Symbol.asyncIterator]();
    let eof = false;
    let pendingZeros = zerosBefore;
    let carry: Float32Array | null = null; // interleaved frames not yet copied into the ring
    const fill = async (upTo: number) => {
      // make input available up to absolute index `upTo` (or to the end of the stream)
      while (!eof && inStart + inLen < upTo) {
        if (inLen === inCap) throw new Error('internal: input ring overflow');
        if (pendingZeros > 0) {
          const n = Math.min(pendingZeros, inCap - inLen);
          inL.fill(0, inLen, inLen + n);
          inR.fill(0, inLen, inLen + n);
          inLen += n;
          pendingZeros -= n;
          continue;
        }
        if (!carry) {
          const r = await iterator.next();
          if (r.done) {
            eof = true;
            break;
          }
          carry = r.value;
        }
        const c: Float32Array = carry;
        const frames = c.length >> 1;
        const n = Math.min(frames, inCap - inLen);
        for (let k = 0; k < n; k++) {
          inL[inLen + k] = c[2 * k];
          inR[inLen + k] = c[2 * k + 1];
        }
        inLen += n;
        carry = n < frames ? c.subarray(2 * n) : null;
      }
    };
    const dropInputBefore = (abs: number) => {
      const k = Math.min(abs - inStart, inLen);
      if (k <= 0) return;
      inL.copyWithin(0, k, inLen);
      inR.copyWithin(0, k, inLen);
      inStart += k;
      inLen -= k;
    };

    const emitUpTo = async (abs: number) => {
      // hand finished samples [emitted, abs) to the sink, normalised by the summed weights
      const from = emitted;
      if (abs <= from) return;
      const n = abs - from;
      const off = from - accStart;
      const skip = Math.max(0, zerosBefore - from); // the shift's zeros are not output
      const m = Math.max(0, n - skip);
      for (let s = 0; s < S; s++)
        for (let c = 0; c < 2; c++) {
          const a = acc[s][c];
          const o = outViews[s][c];
          for (let t = 0; t < m; t++) o[t] = a[off + skip + t] / sumW[off + skip + t];
        }
      if (m > 0) await sink(outViews.map((p) => [p[0].subarray(0, m), p[1].subarray(0, m)]), m);
      emitted = abs;
      // slide accumulators so that accStart = emitted
      const k = emitted - accStart;
      for (let s = 0; s < S; s++)
        for (let c = 0; c < 2; c++) {
          acc[s][c].copyWithin(0, k);
          acc[s][c].fill(0, accCap - k);
        }
      sumW.copyWithin(0, k);
      sumW.fill(0, accCap - k);
      accStart = emitted;
    };

    let offset = 0;
    let total: number | null = null;
    let prevEnd = -1;
    const free: InputSet[] = [this.newInputSet(), this.newInputSet()];
    interface Prepared {
      offset: number;
      chunkLen: number;
      delta: number;
      set: InputSet;
    }

    /** Reads the next segment's input, centres/pads it as TensorChunk.padded, and runs the STFT. */
    const prepareNext = async (): Promise<Prepared | null> => {
      opts.signal?.throwIfAborted();
      await fill(offset + segment);
      if (eof) total = inStart + inLen;
      if (total !== null && offset >= total) return null;
      if (total !== null && opts.skipCoveredTail && prevEnd >= total) return null; // covered by the previous segment
      const chunkLen = total === null ? segment : Math.min(segment, total - offset);
      const delta = segment - chunkLen;
      const start = offset - Math.floor(delta / 2); // centred, zeros outside the track
      const set = free.pop() ?? this.newInputSet();
      const L = set.mix.subarray(0, segment);
      const R = set.mix.subarray(segment);
      const avail0 = inStart;
      const avail1 = inStart + inLen;
      if (start < avail0 && start >= 0) throw new Error(`internal: input before ${avail0} was dropped (needed ${start})`);
      for (let i = 0; i < segment; i++) {
        const a = start + i;
        if (a >= avail0 && a < avail1 && (total === null || a < total)) {
          L[i] = inL[a - inStart];
          R[i] = inR[a - inStart];
        } else {
          L[i] = 0;
          R[i] = 0;
        }
      }
      this.spec.forward(set.mix, set.spec);
      const p: Prepared = { offset, chunkLen, delta, set };
      prevEnd = offset + chunkLen;
      offset += stride;
      // keep half a segment of input before the next offset (a last, shorter chunk is centred)
      dropInputBefore(offset - Math.ceil(segment / 2));
      return p;
    };

    let running: Promise<RunResult & InputSet> | null = null;
    try {
      // Pipeline: while the model runs segment k (in its thread), read + STFT segment k+1, then
      // iSTFT + overlap-add + write segment k while the model runs k+1.
      let cur = await prepareNext();
      running = cur ? this.startRun(cur.set) : null;
      while (cur && running) {
        const next = await prepareNext();
        const res = await running;
        running = next ? this.startRun(next.set) : null;
        free.push({ mix: res.mix, spec: res.spec });
        const out = this.finishRun(res);
        // center_trim to chunkLen, then weighted overlap-add with weight[:chunk_length]
        const { chunkLen } = cur;
        const trim = Math.floor(cur.delta / 2);
        const base = cur.offset - accStart;
        for (let s = 0; s < S; s++)
          for (let c = 0; c < 2; c++) {
            const a = acc[s][c];
            const src = (2 * s + c) * segment + trim;
            for (let t = 0; t < chunkLen; t++) a[base + t] += w[t] * out[src + t];
          }
        for (let t = 0; t < chunkLen; t++) sumW[base + t] += w[t];
        // everything before the next segment's start is final
        const end = cur.offset + stride;
        await emitUpTo(total === null ? end : Math.min(end, total));
        const est = total ?? opts.expectedFrames;
        onSegment(est === null ? null : this.segmentsFor(est, opts.skipCoveredTail));
        cur = next;
      }
    } finally {
      running?.catch(() => {}); // a run left in flight by an error or cancel: its result is not needed
      if (!eof) await iterator.return?.(undefined); // stops ffmpeg
    }
    if (total === null) total = inStart + inLen;
    await emitUpTo(total);
    return Math.max(0, total - zerosBefore);
  }

  /** Number of segments for a track of `frames` samples. */
  segmentsFor(frames: number, skipCoveredTail = true): number {
    const { segment } = this.manifest;
    let n = 0;
    let prevEnd = -1;
    for (let o = 0; o < frames; o += this.stride) {
      if (skipCoveredTail && prevEnd >= frames) break;
      n++;
      prevEnd = o + Math.min(segment, frames - o);
    }
    return Math.max(n, 1);
  }

  /**
   * Separates one file into `outDir/<stem>.<ext>`. Files appear only when complete; on any error
   * or cancellation no partial output is left behind.
   */
  async separate(input: string, outDir: string, options: Partial<SeparateOptions> = {}, control: RunControl = {}): Promise<SeparateResult> {
    if (this.busy) throw new DemixError('INTERNAL', 'This separator is already running a job (use one Separator per worker).');
    this.busy = true;
    try {
      return await this.separateInner(input, outDir, { ...DEFAULT_SEPARATE_OPTIONS, ...options }, control);
    } finally {
      this.busy = false;
    }
  }

  private async separateInner(input: string, outDir: string, o: SeparateOptions, control: RunControl): Promise<SeparateResult> {
    const t0 = performance.now();
    const runMs0 = this.runMs;
    const runs0 = this.runs;
    const { signal, onProgress } = control;
    const stems = this.manifest.stems;
    const sr = this.manifest.sampleRate;
    if (o.twoStems && !stems.includes(o.twoStems)) {
      throw new DemixError('BAD_OPTIONS', `--two-stems ${o.twoStems}: this model's stems are ${stems.join(', ')}.`);
    }
    if (!Number.isInteger(o.shifts) || o.shifts < 0 || o.shifts > 20) throw new DemixError('BAD_OPTIONS', `shifts must be a whole number from 0 to 20 (got ${o.shifts}).`);
    signal?.throwIfAborted();
    const info = await probeAudio(input);
    // An excerpt: decode [ctxFrom, ctxTo) (the span plus context), keep [keepFrom, keepTo) of it.
    const span = o.excerpt ? excerptFrames(o.excerpt, info.durationSec, sr, Math.floor(this.manifest.segment / 2), path.basename(input)) : null;
    const expectedFrames = span ? span.ctxTo - span.ctxFrom : info.durationSec ? Math.round(info.durationSec * sr) : null;
    try {
      mkdirSync(outDir, { recursive: true });
    } catch (e) {
      const i = toErrorInfo(e, { outputDir: outDir });
      throw new DemixError(i.code === 'INTERNAL' ? 'OUTPUT_UNWRITABLE' : i.code, i.code === 'INTERNAL' ? `Cannot create the output folder ${outDir} (${(e as Error).message}): choose another output folder.` : i.message);
    }
    const ext = o.format;
    const outNames = o.twoStems ? [o.twoStems, `no_${o.twoStems}`] : stems;
    const writers: AudioWriter[] = [];
    const cleanup = async () => {
      await Promise.all(writers.map((w) => w.abort()));
    };
    try {
      for (const name of outNames) writers.push(await openAudioWriter(path.join(outDir, `${name}.${ext}`), { format: o.format, bits: o.bits, clipMode: o.clipMode, sampleRate: sr, channels: 2, partialTag: o.runTag }));
      const passes = Math.max(1, o.shifts);
      const maxShift = Math.floor(0.5 * sr);
      const rand = mulberry32(o.seed ?? Date.now());
      const perPass = expectedFrames ? this.segmentsFor(expectedFrames + (o.shifts ? maxShift : 0), o.skipCoveredTail ?? true) : 0;
      let segmentsTotal = perPass * passes;
      let segmentsDone = 0;
      let firstSegMs: number | null = null;
      let steadyMs = 0;
      let steadyN = 0;
      let lastT = performance.now();
      let readyFrames = 0;
      const report = (stage: Progress['stage']) => {
        const total = Math.max(segmentsTotal, segmentsDone);
        const per = steadyN ? steadyMs / steadyN : firstSegMs;
        onProgress?.({
          fraction: total ? Math.min(1, segmentsDone / total) : 0,
          segmentsDone,
          segmentsTotal: total,
          etaSec: per !== null && total ? ((total - segmentsDone) * per) / 1000 : null,
          stage,
          readyFrames,
        });
      };
      report('loading');
      const interleave = new Float32Array(2 * (this.stride + this.manifest.segment));
      // Shifts are averaged through a float accumulator on disk, so memory stays flat.
      const accum = passes > 1 ? new ShiftAccumulator(path.join(outDir, `.shifts-${process.pid}-${Date.now()}.raw.partial`), stems.length, this.stride + this.manifest.segment) : null;
      let frames = 0;
      // Musical analysis: features gathered from the final blocks as they are written.
      const collector = o.analyze === false ? null : new FeatureCollector(stems, sr);
      try {
        for (let p = 0; p < passes; p++) {
          const zerosBefore = o.shifts ? maxShift - Math.floor(rand() * (maxShift + 1)) : 0;
          let written = 0;
          let seen = 0; // output frames of this pass so far (the excerpt trim counts them)
          const last = p === passes - 1;
          const sink: Sink = async (whole, total) => {
            let src = whole;
            let n = total;
            if (span) {
              const a = Math.max(seen, span.keepFrom);
              const b = Math.min(seen + total, span.keepTo);
              seen += total;
              if (b <= a) return;
              const off = a - (seen - total);
              n = b - a;
              src = whole.map((chs) => chs.map((c) => c.subarray(off, off + n)));
            }
            let block = src;
            if (accum) {
              block = accum.add(src, n, written, p === 0, last ? 1 / passes : 1);
              written += n;
              if (!last) return;
            }
            collector?.push(block, n);
            await this.writeBlock(block, n, writers, o, interleave);
            // Written synchronously to every stem's partial data: these frames are final now.
            readyFrames += n;
          };
          const decoded = decodeAudio(input, { signal, sampleRate: sr, channels: 2, expectedDurationSec: span ? null : info.durationSec });
          frames = await this.pass(
            span ? sliceFrames(decoded, span.ctxFrom, span.ctxTo, 2) : decoded,
            zerosBefore,
            sink,
            (estimate) => {
              const now = performance.now();
              const dt = now - lastT;
              lastT = now;
              if (firstSegMs === null) firstSegMs = dt;
              else {
                steadyMs += dt;
                steadyN++;
              }
              segmentsDone++;
              if (estimate !== null) segmentsTotal = Math.max(segmentsDone, estimate * passes);
              report('separating');
            },
            { skipCoveredTail: o.skipCoveredTail ?? true, signal, expectedFrames: expectedFrames === null ? null : expectedFrames + zerosBefore },
          );
        }
      } finally {
        accum?.close();
      }
      signal?.throwIfAborted();
      report('finishing');
      const files: StemFile[] = [];
      for (const w of writers) {
        const r = await w.finish();
        files.push({ name: path.basename(r.path).replace(/\.[^.]+$/, ''), path: r.path, format: o.format, durationSec: r.durationSec });
      }
      let analysis: SongAnalysis | null = null;
      if (collector) {
        try {
          analysis = finishAnalysis(collector);
        } catch {
          analysis = null; // the stems are what the job is for; a failed analysis leaves the fields empty
        }
      }
      onProgress?.({ fraction: 1, segmentsDone, segmentsTotal: segmentsDone, etaSec: 0, stage: 'finishing', readyFrames });
      if (span && frames < span.keepTo) {
        throw new DemixError('BAD_OPTIONS', `--excerpt ${fmtSec(o.excerpt!.startSec)}-${fmtSec(o.excerpt!.endSec)}: ${path.basename(input)} ends at ${fmtSec((span.ctxFrom + frames) / sr)}; choose a span inside the song.`);
      }
      return {
        stems: files,
        analysis,
        durationSec: span ? (span.keepTo - span.keepFrom) / sr : frames / sr,
        provider: this.provider,
        fallbackReason: this.fallbackReason,
        timings: { totalMs: performance.now() - t0, runMs: this.runMs - runMs0, runs: this.runs - runs0 },
      };
    } catch (e) {
      await cleanup();
      if (signal?.aborted) throw new DemixError('CANCELED', 'Canceled; no files were written.');
      if (e instanceof DemixError || (e as Error)?.name === 'DemixError') throw e;
      const i = toErrorInfo(e, { outputDir: outDir });
      throw new DemixError(i.code, i.message, { cause: e });
    }
  }

  /** Interleaves (and for two-stem mode, sums the complement) and appends to the writers. */
  private async writeBlock(src: Float32Array[][], n: number, writers: AudioWriter[], o: SeparateOptions, buf: Float32Array): Promise<void> {
    const stems = this.manifest.stems;
    const out = buf.subarray(0, 2 * n);
    if (!o.twoStems) {
      for (let s = 0; s < stems.length; s++) {
        const [l, r] = src[s];
        for (let t = 0; t < n; t++) {
          out[2 * t] = l[t];
          out[2 * t + 1] = r[t];
        }
        await writers[s].write(out);
      }
      return;
    }
    const keep = stems.indexOf(o.twoStems);
    {
      const [l, r] = src[keep];
      for (let t = 0; t < n; t++) {
        out[2 * t] = l[t];
        out[2 * t + 1] = r[t];
      }
      await writers[0].write(out);
    }
    out.fill(0);
    for (let s = 0; s < stems.length; s++) {
      if (s === keep) continue;
      const [l, r] = src[s];
      for (let t = 0; t < n; t++) {
        out[2 * t] += l[t];
        out[2 * t + 1] += r[t];
      }
    }
    await writers[1].write(out);
  }
}

function fmtSec(s: number): string {
  const m = Math.floor(s / 60);
  const r = s - 60 * m;
  const rs = Number.isInteger(r) ? String(r) : r.toFixed(2).replace(/0+$/, '');
  return m ? `${m}:${r < 10 ? '0' : ''}${rs}` : rs;
}

/**
 * Frame bounds of an excerpt: the span [from, to) in the song, the decoded window with up to
 * `context` frames on each side, and the span inside that window. Bad spans get one clear line.
 */
export function excerptFrames(
  span: { startSec: number; endSec: number },
  durationSec: number | null,
  sr: number,
  context: number,
  name = 'the song',
): { from: number; to: number; ctxFrom: number; ctxTo: number; keepFrom: number; keepTo: number } {
  const { startSec, endSec } = span;
  const label = `--excerpt ${fmtSec(startSec)}-${fmtSec(endSec)}`;
  if (!Number.isFinite(startSec) || !Number.isFinite(endSec) || startSec < 0) throw new DemixError('BAD_OPTIONS', `${label}: the start must be 0 or later.`);
  if (endSec < startSec) throw new DemixError('BAD_OPTIONS', `${label}: the end is before the start; write START-END, e.g. 60-90 or 1:00-1:30.`);
  const from = Math.round(startSec * sr);
  const to = Math.round(endSec * sr);
  if (to <= from) throw new DemixError('BAD_OPTIONS', `${label}: the span is empty (zero length); choose an end after the start.`);
  if (durationSec != null && endSec > durationSec + 0.5 / sr) {
    throw new DemixError('BAD_OPTIONS', `${label}: ${name} is only ${fmtSec(Math.floor(durationSec * 100) / 100)} long; choose a span that ends by then.`);
  }
  const total = durationSec != null ? Math.round(durationSec * sr) : Infinity;
  const ctxFrom = Math.max(0, from - context);
  const ctxTo = Math.min(total, to + context);
  return { from, to, ctxFrom, ctxTo, keepFrom: from - ctxFrom, keepTo: to - ctxFrom };
}

/** Frames [from, to) of an interleaved stream (stops the source once past `to`). */
async function* sliceFrames(src: AsyncGenerator<Float32Array>, from: number, to: number, channels: number): AsyncGenerator<Float32Array> {
  let pos = 0;
  try {
    for await (const chunk of src) {
      const n = chunk.length / channels;
      const a = Math.max(from, pos);
      const b = Math.min(to, pos + n);
      if (b > a) yield chunk.subarray((a - pos) * channels, (b - pos) * channels);
      pos += n;
      if (pos >= to) break;
    }
  } finally {
    await src.return(undefined);
  }
}
