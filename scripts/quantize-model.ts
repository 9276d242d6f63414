/**
 * Builds the int8 variant of the installed HTDemucs weights (see models/quantize.ts):
 *
 *   node --import tsx scripts/quantize-model.ts [-o DIR] [--conv] [--per-tensor] [--reduce-range] [--id ID]
 *
 * writes DIR/<id>.onnx and DIR/<id>.json (a user-model manifest naming the source weights'
 * checksum), so `DEMIX_MODELS_DIR=DIR demix separate --model <id> …` runs it. Default DIR: the
 * user models folder (DEMIX_MODELS_DIR), else ./models-q8. Default: MatMul/Gemm weights only,
 * per-channel, 8-bit — the variant measured in README "An int8 model?".
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeModel, encodeModel, quantizeModel, type QuantizeOptions } from '../models/quantize.ts';
import { resolveModel } from '../models/registry.ts';

export async function buildQuantized(outDir: string, opts: QuantizeOptions & { id?: string } = {}) {
  const { manifest, weightsPath } = await resolveModel('htdemucs');
  const id = opts.id ?? 'htdemucs-q8';
  const t0 = performance.now();
  const model = decodeModel(readFileSync(weightsPath));
  const stats = quantizeModel(model, { matmul: true, conv: false, perChannel: true, reduceRange: false, ...opts });
  model.producerName = `${model.producerName ?? ''} + demix int8 (models/quantize.ts)`;
  const bytes = encodeModel(model);
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${id}.onnx`);
  writeFileSync(`${file}.partial`, bytes);
  renameSync(`${file}.partial`, file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { manifestPath: _p, ...base } = manifest;
  const what = [opts.conv ? 'MatMul/Gemm + Conv' : 'MatMul/Gemm', opts.perChannel === false ? 'per-tensor' : 'per-channel', opts.reduceRange ? '7-bit' : '8-bit'].join(', ');
  const m = {
    ...base,
    id,
    name: `HTDemucs int8 (${what}; fast, slightly lower quality)`,
    weights: {
      file: `${id}.onnx`,
      sha256,
      size: bytes.length,
      source: `int8 (${what}) of ${manifest.weights.file} sha256 ${manifest.weights.sha256}, made by demix models/quantize.ts`,
      license: manifest.weights.license,
    },
  };
  writeFileSync(path.join(outDir, `${id}.json`), JSON.stringify(m, null, 2) + '\n');
  return { file, sha256, size: bytes.length, stats, ms: performance.now() - t0 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = process.argv.slice(2);
  const val = (k: string) => (a.includes(k) ? a[a.indexOf(k) + 1] : undefined);
  const out = val('-o') ?? process.env.DEMIX_MODELS_DIR ?? 'models-q8';
  const r = await buildQuantized(out, { conv: a.includes('--conv'), perChannel: !a.includes('--per-tensor'), reduceRange: a.includes('--reduce-range'), id: val('--id') });
  console.log(`${r.file}: ${(r.size / 1e6).toFixed(1)} MB, sha256 ${r.sha256}, ${r.stats.matmul} MatMul + ${r.stats.gemm} Gemm + ${r.stats.conv} Conv quantised, ${(r.ms / 1000).toFixed(1)} s`);
}
