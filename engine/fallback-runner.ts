/**
 * A GPU provider that fails in the middle of a job (out of GPU memory, device lost) must not fail
 * the job: `FallbackRunner` keeps a copy of the segment it hands to the provider, and when the
 * run throws it starts a CPU runner, runs that same segment there and stays on the CPU for the
 * rest of the job (and of the worker's life). Earlier segments are kept: nothing starts over.
 */
import type { ModelRunner, ProviderName, RunResult } from './session.ts';

export class FallbackRunner implements ModelRunner {
  private active: ModelRunner;
  private cpu: Promise<ModelRunner> | null = null;
  private reason: string | null;
  /** Segments run since creation (the failing one counts once). */
  private segments = 0;

  constructor(
    private readonly primary: ModelRunner,
    private readonly makeCpu: () => Promise<ModelRunner>,
    private readonly onFallback: (reason: string) => void = () => {},
  ) {
    this.active = primary;
    this.reason = primary.fallbackReason;
  }

  get provider(): ProviderName {
    return this.active.provider;
  }
  get fallbackReason(): string | null {
    return this.reason;
  }
  get loadMs(): number {
    return this.primary.loadMs;
  }
  /** True once the job moved to the CPU. */
  get fellBack(): boolean {
    return this.active !== this.primary;
  }

  async run(mix: Float32Array, mixDims: number[], spec: Float32Array, specDims: number[]): Promise<RunResult & { mix: Float32Array; spec: Float32Array }> {
    const index = ++this.segments;
    if (this.fellBack) return this.active.run(mix, mixDims, spec, specDims);
    // The provider may take (transfer) the buffers; keep copies to replay the segment on the CPU.
    const mixCopy = Float32Array.from(mix);
    const specCopy = Float32Array.from(spec);
    try {
      return await this.primary.run(mix, mixDims, spec, specDims);
    } catch (e) {
      if (this.fellBack) return this.active.run(mixCopy, mixDims, specCopy, specDims); // another run already switched
      const failed = this.primary.provider;
      const why = (e as Error).message.split('\n')[0].slice(0, 200);
      this.cpu ??= this.makeCpu();
      this.active = await this.cpu;
      this.reason = `${failed} failed at segment ${index} (${why}); finished on the cpu from that segment`;
      this.onFallback(this.reason);
      this.primary.dispose().catch(() => {});
      return this.active.run(mixCopy, mixDims, specCopy, specDims);
    }
  }

  async dispose(): Promise<void> {
    if (!this.fellBack) await this.primary.dispose();
    if (this.cpu) await (await this.cpu).dispose();
  }
}
