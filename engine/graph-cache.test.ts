/**
 * The optimised-graph cache of the CPU session (engine/ort-thread.mjs, optimizedGraphPath): the
 * first start saves ONNX Runtime's optimised graph, later starts load it with optimisation off,
 * and the outputs are the same bits; a damaged cache file is replaced, never fatal. A tiny model
 * (MatMul + Conv, built with ./tiny-onnx.test-support.ts) stands in for HTDemucs.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from './prng.ts';
import { optimizedGraphPath, ThreadRunner } from './session.ts';
import { f32, tinyOnnx, vi } from './tiny-onnx.test-support.ts';

const rand = (n: number, seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() - 0.5);
};

/** mix [1, 2, 8] → MatMul → time [1, 2, 8]; spec [1, 4, 6, 5] → Conv 3x3 (pads 1) → Relu → specOut [1, 8, 6, 5]. */
function tinyModel(file: string): void {
  const model = tinyOnnx({
    node: [
      { opType: 'MatMul', input: ['mix', 'W'], output: ['time'], name: 'mm', domain: '', attribute: [] },
      { opType: 'Conv', input: ['spec', 'K', 'B'], output: ['c'], name: 'conv', domain: '', attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }, { name: 'kernel_shape', type: 7, ints: [3, 3] }] },
      { opType: 'Relu', input: ['c'], output: ['specOut'], name: 'relu', domain: '', attribute: [] },
    ],
    initializer: [f32('W', [8, 8], rand(64, 1)), f32('K', [8, 4, 3, 3], rand(8 * 4 * 9, 2)), f32('B', [8], rand(8, 3))],
    input: [vi('mix', [1, 2, 8]), vi('spec', [1, 4, 6, 5])],
    output: [vi('time', [1, 2, 8]), vi('specOut', [1, 8, 6, 5])],
  });
  writeFileSync(file, model);
}

const names = { mix: 'mix', spec: 'spec', specOut: 'specOut', timeOut: 'time' };
const runners: ThreadRunner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.dispose();
});

async function outputs(weights: string, graphCache: string | null): Promise<Buffer> {
  const r = await ThreadRunner.create(weights, 'cpu', names, { threads: 1, graphCache });
  runners.push(r);
  const res = await r.run(rand(16, 4), [1, 2, 8], rand(4 * 6 * 5, 5), [1, 4, 6, 5]);
  return Buffer.concat([Buffer.from(res.timeOut.buffer, res.timeOut.byteOffset, res.timeOut.byteLength), Buffer.from(res.specOut.buffer, res.specOut.byteOffset, res.specOut.byteLength)]);
}

describe('optimised-graph cache (CPU sessions)', () => {
  it('is saved on the first start and loaded afterwards, with bit-identical outputs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-graph-cache-'));
    const weights = path.join(dir, 'tiny.onnx');
    tinyModel(weights);
    const cache = optimizedGraphPath(path.join(dir, 'cache'), 'ab'.repeat(32))!;
    expect(cache.startsWith(path.join(dir, 'cache', 'optimized-graphs'))).toBe(true);
    const plain = await outputs(weights, null);
    expect(existsSync(cache)).toBe(false);

    const first = await outputs(weights, cache);
    expect(existsSync(cache)).toBe(true);
    const saved = statSync(cache).mtimeMs;
    const second = await outputs(weights, cache); // from the cached graph
    expect(statSync(cache).mtimeMs).toBe(saved); // loaded, not rewritten
    expect(first.equals(plain)).toBe(true);
    expect(second.equals(plain)).toBe(true);
  });

  it('a damaged cache file is replaced and the session still starts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-graph-cache-'));
    const weights = path.join(dir, 'tiny.onnx');
    tinyModel(weights);
    const cache = optimizedGraphPath(path.join(dir, 'cache'), 'cd'.repeat(32))!;
    const plain = await outputs(weights, null);
    await outputs(weights, cache);
    writeFileSync(cache, 'not an onnx graph');
    expect((await outputs(weights, cache)).equals(plain)).toBe(true);
    expect(readFileSync(cache).length).toBeGreaterThan(100); // rebuilt
  });

  it('names the weights, ONNX Runtime version and machine; DEMIX_GRAPH_CACHE=0 turns it off', () => {
    const a = optimizedGraphPath('/c', '11'.repeat(32))!;
    expect(a).not.toBe(optimizedGraphPath('/c', '22'.repeat(32)));
    expect(path.basename(a)).toMatch(/^1{16}-ort[\d.]+-[0-9a-f]{12}\.onnx$/);
    const saved = process.env.DEMIX_GRAPH_CACHE;
    process.env.DEMIX_GRAPH_CACHE = '0';
    try {
      expect(optimizedGraphPath('/c', '11'.repeat(32))).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.DEMIX_GRAPH_CACHE;
      else process.env.DEMIX_GRAPH_CACHE = saved;
    }
  });
});
