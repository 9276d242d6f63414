/** Types for signalsmith-stretch (MIT; ships JS only): the parts the player uses. */
declare module 'signalsmith-stretch' {
  export interface StretchSchedule {
    /** Context time of the change (default: now). */
    output?: number;
    active?: boolean;
    rate?: number;
    semitones?: number;
    tonalityHz?: number;
    formantSemitones?: number;
    formantCompensation?: boolean;
  }
  export interface StretchNode extends AudioWorkletNode {
    schedule(change: StretchSchedule): Promise<unknown>;
    /** Seconds of delay the node adds when it processes live input. */
    latency(): Promise<number>;
    start(when?: number): Promise<unknown>;
    stop(when?: number): Promise<unknown>;
  }
  interface CreateStretch {
    (ctx: BaseAudioContext, options?: AudioWorkletNodeOptions): Promise<StretchNode>;
    /** Same-origin URL of the worklet module (else it makes a blob: URL, which the app's CSP refuses). */
    moduleUrl?: string;
  }
  const SignalsmithStretch: CreateStretch;
  export default SignalsmithStretch;
}

declare module 'signalsmith-stretch?url' {
  const url: string;
  export default url;
}
