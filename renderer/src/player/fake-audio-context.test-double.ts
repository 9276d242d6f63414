/**
 * Test double for the Web Audio API (no AudioContext in Node): records the graph (connections),
 * gain automation and every buffer source's start(when, offset, duration), and lets a test move
 * the clock by hand. Only what MixPlayer uses is implemented.
 */

export class FakeParam {
  value: number;
  events: { type: string; value: number; time: number }[] = [];
  constructor(v: number) {
    this.value = v;
  }
  cancelScheduledValues(time: number) {
    this.events.push({ type: 'cancel', value: NaN, time });
    return this;
  }
  setValueAtTime(value: number, time: number) {
    this.events.push({ type: 'set', value, time });
    return this;
  }
  linearRampToValueAtTime(value: number, time: number) {
    this.events.push({ type: 'ramp', value, time });
    this.value = value; // the fake jumps to the ramp's end at once
    return this;
  }
}

export class FakeNode {
  outputs = new Set<FakeNode>();
  constructor(
    readonly ctx: FakeAudioContext,
    readonly kind: string,
  ) {}
  connect(n: FakeNode) {
    this.outputs.add(n);
    return n;
  }
  disconnect() {
    this.outputs.clear();
  }
}

export class FakeGain extends FakeNode {
  gain = new FakeParam(1);
}

export class FakeBuffer {
  readonly data: Float32Array[];
  constructor(
    readonly numberOfChannels: number,
    readonly length: number,
    readonly sampleRate: number,
  ) {
    this.data = Array.from({ length: numberOfChannels }, () => new Float32Array(length));
  }
  get duration() {
    return this.length / this.sampleRate;
  }
  copyToChannel(src: Float32Array, ch: number) {
    this.data[ch].set(src);
  }
  getChannelData(ch: number) {
    return this.data[ch];
  }
}

export class FakeSource extends FakeNode {
  buffer: FakeBuffer | null = null;
  playbackRate = new FakeParam(1);
  started: { when: number; offset: number; duration: number } | null = null;
  stopped = false;
  start(when: number, offset: number, duration: number) {
    if (this.started) throw new Error('InvalidStateError: start called twice');
    this.started = { when, offset, duration };
  }
  stop() {
    if (!this.started) throw new Error('InvalidStateError: not started');
    this.stopped = true;
  }
}

export class FakeAudioContext {
  currentTime = 0;
  state: 'running' | 'suspended' | 'closed' = 'running';
  readonly destination = new FakeNode(this, 'destination');
  readonly sources: FakeSource[] = [];
  readonly gainNodes: FakeGain[] = [];
  buffersCreated = 0;
  constructor(readonly sampleRate: number) {}
  createGain() {
    const g = new FakeGain(this, 'gain');
    this.gainNodes.push(g);
    return g;
  }
  createBufferSource() {
    const s = new FakeSource(this, 'source');
    this.sources.push(s);
    return s;
  }
  createBuffer(channels: number, length: number, sampleRate: number) {
    this.buffersCreated++;
    return new FakeBuffer(channels, length, sampleRate);
  }
  async resume() {
    this.state = 'running';
  }
  async close() {
    this.state = 'closed';
  }
  /** Sources that are started and not stopped, and play at context time t. */
  audibleAt(t: number) {
    return this.sources.filter((s) => s.started && !s.stopped && s.started.when <= t && t < s.started.when + s.started.duration / s.playbackRate.value);
  }
}
