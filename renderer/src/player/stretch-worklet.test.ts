/**
 * The real Signalsmith Stretch processor (its WASM, as the player's AudioWorkletNode runs it), driven
 * block by block in Node. Only the AudioWorkletGlobalScope around it is a test double (Node has no
 * AudioWorklet): `sampleRate`, `currentTime`, `AudioWorkletProcessor` with a message port, and
 * `registerProcessor`. Checks what the player relies on: the pitch compensation lands on the asked
 * pitch, and the output is finite and continuous.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pitchShiftSemitones } from './practice-store.ts';

const SR = 44100;
const BLOCK = 128;

interface Processor {
  wasmReady: boolean;
  port: { onmessage: ((e: { data: unknown[] }) => void) | null };
  process(inputs: Float32Array[][], outputs: Float32Array[][], params: object): boolean;
}
let Stretch: new (o: object) => Processor;

beforeAll(async () => {
  const g = globalThis as Record<string, unknown>;
  g.sampleRate = SR;
  g.currentTime = 0;
  g.AudioWorkletProcessor = class {
    port = { postMessage: () => {}, onmessage: null };
  };
  g.registerProcessor = (name: string, cls: new (o: object) => Processor) => {
    if (name === 'signalsmith-stretch') Stretch = cls;
  };
  await import('signalsmith-stretch');
  expect(Stretch).toBeDefined();
});

async function processor(): Promise<Processor> {
  const p = new Stretch({ numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
  for (let i = 0; i < 500 && !p.wasmReady; i++) await new Promise((r) => setTimeout(r, 10));
  expect(p.wasmReady).toBe(true);
  return p;
}

/** Runs `seconds` of a stereo sine at `hz` through the processor; `change` may reschedule mid-way. */
function run(p: Processor, hz: number, seconds: number, change?: { atSec: number; semitones: number }): Float32Array {
  const g = globalThis as Record<string, unknown>;
  const blocks = Math.round((seconds * SR) / BLOCK);
  const out = new Float32Array(blocks * BLOCK);
  let phase = 0;
  for (let b = 0; b < blocks; b++) {
    if (change && b === Math.round((change.atSec * SR) / BLOCK)) p.port.onmessage!({ data: [2, 'schedule', { semitones: change.semitones }] });
    const l = new Float32Array(BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      l[i] = 0.5 * Math.sin(phase);
      phase += (2 * Math.PI * hz) / SR;
    }
    const o = [new Float32Array(BLOCK), new Float32Array(BLOCK)];
    p.process([[l, l.slice()]], [o], {});
    g.currentTime = (g.currentTime as number) + BLOCK / SR;
    out.set(o[0], b * BLOCK);
  }
  return out;
}

/** Frequency from upward zero crossings (interpolated), over a stretch of a steady sine. */
function frequency(x: Float32Array): number {
  const ups: number[] = [];
  for (let i = 1; i < x.length; i++) if (x[i - 1] < 0 && x[i] >= 0) ups.push(i - 1 + -x[i - 1] / (x[i] - x[i - 1]));
  return ((ups.length - 1) * SR) / (ups.at(-1)! - ups[0]);
}

describe('Signalsmith Stretch as the pitch-compensating insert', () => {
  it('75 % and -2 st: the varispeed-lowered tone comes out 2 semitones below the original, finite and continuous', async () => {
    const p = await processor();
    const shift = pitchShiftSemitones(75, -2, 0);
    p.port.onmessage!({ data: [1, 'schedule', { active: true, semitones: shift }] });
    // A 440 Hz tone played at 75 % varispeed arrives as 330 Hz.
    const out = run(p, 440 * 0.75, 3);
    expect(out.every(Number.isFinite)).toBe(true);
    const steady = out.subarray(SR, 3 * SR);
    const want = 440 * 2 ** (-2 / 12); // 392.0 Hz
    expect(Math.abs(frequency(steady) / want - 1)).toBeLessThan(0.01);
    // Continuity: no jumps bigger than a 392 Hz sine of this level can make (plus margin), and no dropouts.
    let maxStep = 0;
    for (let i = 1; i < steady.length; i++) maxStep = Math.max(maxStep, Math.abs(steady[i] - steady[i - 1]));
    expect(maxStep).toBeLessThan(2 * ((2 * Math.PI * want) / SR) * 0.6);
    const win = 2048;
    const rms: number[] = [];
    for (let i = 0; i + win <= steady.length; i += win) {
      let s = 0;
      for (let j = i; j < i + win; j++) s += steady[j] * steady[j];
      rms.push(Math.sqrt(s / win));
    }
    const mean = rms.reduce((a, b) => a + b, 0) / rms.length;
    expect(mean).toBeGreaterThan(0.2);
    for (const r of rms) expect(Math.abs(r / mean - 1)).toBeLessThan(0.15);
  });

  it('a pitch change while playing stays finite and reaches the new pitch', async () => {
    const p = await processor();
    p.port.onmessage!({ data: [1, 'schedule', { active: true, semitones: pitchShiftSemitones(50, 0, 0) }] });
    const out = run(p, 220, 4, { atSec: 2, semitones: pitchShiftSemitones(50, 0, 0) + 7 });
    expect(out.every(Number.isFinite)).toBe(true);
    expect(Math.abs(frequency(out.subarray(Math.round(0.8 * SR), 2 * SR)) / 440 - 1)).toBeLessThan(0.01);
    expect(Math.abs(frequency(out.subarray(Math.round(2.8 * SR), 4 * SR)) / (440 * 2 ** (7 / 12)) - 1)).toBeLessThan(0.01);
  });
});
