/**
 * The int8 transform (models/quantize.ts) on a tiny model (./tiny-onnx.test-support.ts): the quantised graph gives
 * the float graph's outputs within quantisation error when both run through onnxruntime-node,
 * with the MatMul/Gemm/Conv nodes really replaced by their integer forms.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, quantizeModel, quantizeSymmetric, type QuantizeOptions } from '../models/quantize.ts';
import { mulberry32 } from './prng.ts';
import { f32, flt, int, ints, node, tinyOnnx, vi } from './tiny-onnx.test-support.ts';

/** Deterministic pseudo-random numbers (mulberry32), roughly N(0, 1)-shaped by summing. */
function rng(seed: number) {
  const u = mulberry32(seed);
  return (n: number, scale = 1) => Float32Array.from({ length: n }, () => (u() + u() + u() - 1.5) * scale);
}

/**
 * x [2, 64] → MatMul W1 [64, 96] → Gemm (transB, W2 [48, 96], bias) → y [2, 48];
 * a [1, 8, 40] → Conv (W3 [16, 8, 3], pads 1, bias) → c [1, 16, 40]; also a 2-D Conv on b [1, 4, 12, 10].
 */
function tinyModel(): Uint8Array {
  const r = rng(7);
  return tinyOnnx({
    node: [
      node('MatMul', ['x', 'W1'], ['h']),
      node('Gemm', ['h', 'W2', 'B2'], ['y'], [flt('alpha', 1), flt('beta', 1), int('transB', 1)]),
      node('Conv', ['a', 'W3', 'B3'], ['c'], [ints('kernel_shape', [3]), ints('pads', [1, 1]), ints('strides', [1]), ints('dilations', [1]), int('group', 1)]),
      node('Conv', ['b', 'W4'], ['d'], [ints('kernel_shape', [3, 1]), ints('pads', [1, 0, 1, 0]), ints('strides', [2, 1])]),
    ],
    initializer: [
      f32('W1', [64, 96], r(64 * 96, 0.2)),
      f32('W2', [48, 96], r(48 * 96, 0.2)),
      f32('B2', [48], r(48, 0.1)),
      // per-output-channel magnitudes that differ a lot: what per-channel scales are for
      f32('W3', [16, 8, 3], Float32Array.from(r(16 * 8 * 3), (v, i) => v * 0.01 * (1 + Math.floor(i / 24) * 4))),
      f32('B3', [16], r(16, 0.1)),
      f32('W4', [32, 4, 3, 1], r(32 * 4 * 3, 0.3)),
    ],
    input: [vi('x', [2, 64]), vi('a', [1, 8, 40]), vi('b', [1, 4, 12, 10])],
    output: [vi('y', [2, 48]), vi('c', [1, 16, 40]), vi('d', [1, 32, 6, 10])],
  });
}

async function runModel(bytes: Uint8Array): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const r = rng(99);
  const out = await s.run({
    x: new ort.Tensor('float32', r(2 * 64), [2, 64]),
    a: new ort.Tensor('float32', r(8 * 40), [1, 8, 40]),
    b: new ort.Tensor('float32', r(4 * 12 * 10), [1, 4, 12, 10]),
  });
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Error energy relative to signal energy, in dB (more negative = closer). */
function relErrorDb(ref: Float32Array, est: Float32Array): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (ref[i] - est[i]) ** 2;
    s += ref[i] ** 2;
  }
  return 10 * Math.log10(e / s);
}

function quantized(opts: QuantizeOptions) {
  const m = decodeModel(tinyModel());
  const stats = quantizeModel(m, { minElements: 16, ...opts });
  return { m, stats, bytes: encodeModel(m) };
}

describe('int8 transform (models/quantize.ts)', () => {
  it('decodes and re-encodes a model byte for byte', () => {
    const bytes = tinyModel();
    expect(Buffer.from(encodeModel(decodeModel(bytes))).equals(Buffer.from(bytes))).toBe(true);
  });

  it('quantises symmetrically: |q| ≤ qmax, one scale per channel, error ≤ half a step', () => {
    const w = Float32Array.from([0.5, -1, 0.25, 0.001, -0.002, 0.0005]);
    const { q, scales } = quantizeSymmetric(w, [2, 3], 0, 127);
    expect(Array.from(scales)).toEqual([expect.closeTo(1 / 127, 9), expect.closeTo(0.002 / 127, 9)]);
    expect(Array.from(q)).toEqual([64, -127, 32, 64, -127, 32]);
    for (let i = 0; i < w.length; i++) expect(Math.abs(q[i] * scales[Math.floor(i / 3)] - w[i])).toBeLessThanOrEqual(scales[Math.floor(i / 3)] / 2 + 1e-9);
    const perTensor = quantizeSymmetric(w, [2, 3], null, 63);
    expect(perTensor.scales.length).toBe(1);
    expect(Math.max(...Array.from(perTensor.q, Math.abs))).toBe(63);
  });

  it('MatMul/Gemm → DynamicQuantizeMatMul, Conv → ConvInteger; outputs match the float model within quantisation error', async () => {
    const ref = await runModel(tinyModel());
    const { m, stats, bytes } = quantized({ conv: true, perChannel: true });
    expect(stats).toMatchObject({ matmul: 1, gemm: 1, conv: 2 });
    const ops = m.graph.node.map((n) => n.opType);
    expect(ops).not.toContain('MatMul');
    expect(ops).not.toContain('Gemm');
    expect(ops).not.toContain('Conv');
    expect(ops.filter((o) => o === 'DynamicQuantizeMatMul')).toHaveLength(2);
    expect(ops.filter((o) => o === 'ConvInteger')).toHaveLength(2);
    // the float weights are gone, int8 ones took their place
    const names = m.graph.initializer.map((t) => t.name);
    for (const w of ['W1', 'W2', 'W3', 'W4']) expect(names).not.toContain(w);
    expect(bytes.length).toBeLessThan(tinyModel().length / 2);

    const got = await runModel(bytes);
    for (const k of ['y', 'c', 'd']) {
      expect(got[k].length).toBe(ref[k].length);
      expect(got[k].every(Number.isFinite)).toBe(true);
      const db = relErrorDb(ref[k], got[k]);
      // 8-bit weights and activations: about -35 to -45 dB here; not bit-identical (it did quantise)
      expect(db, k).toBeLessThan(-28);
      expect(db, k).toBeGreaterThan(-90);
    }
  });

  it('per-channel scales beat one scale per tensor where channels differ in magnitude', async () => {
    const ref = await runModel(tinyModel());
    const pc = await runModel(quantized({ conv: true, perChannel: true }).bytes);
    const pt = await runModel(quantized({ conv: true, perChannel: false }).bytes);
    // the worst output channel: the small-weight channels lose most of their resolution per tensor
    const worst = (est: Float32Array) => Math.max(...Array.from({ length: 16 }, (_, ch) => relErrorDb(ref.c.subarray(ch * 40, ch * 40 + 40), est.subarray(ch * 40, ch * 40 + 40))));
    expect(worst(pc.c)).toBeLessThan(-35);
    expect(worst(pc.c)).toBeLessThan(worst(pt.c) - 6);
    expect(relErrorDb(ref.c, pt.c)).toBeLessThan(-28);
  });

  it('leaves Conv in float unless asked, and small weights always', async () => {
    const { m, stats } = quantized({ conv: false });
    expect(stats).toMatchObject({ matmul: 1, gemm: 1, conv: 0 });
    expect(m.graph.node.filter((n) => n.opType === 'Conv')).toHaveLength(2);
    const small = decodeModel(tinyModel());
    expect(quantizeModel(small, { conv: true, minElements: 1_000_000 })).toMatchObject({ matmul: 0, gemm: 0, conv: 0 });
    const ref = await runModel(tinyModel());
    const got = await runModel(encodeModel(m));
    expect(Array.from(got.c)).toEqual(Array.from(ref.c)); // float convolutions untouched
  });
});
