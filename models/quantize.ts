/**
 * Dynamic int8 quantisation of an ONNX model's weights, for ONNX Runtime on the CPU.
 *
 * - `MatMul(A, W)` with a 2-D float initializer W [K, N], and `Gemm(A, W, C)` with alpha = beta = 1
 *   (W transposed to [K, N] when transB = 1), become `com.microsoft.DynamicQuantizeMatMul(A, Wq,
 *   scale, , bias)`: W stored as int8 (symmetric, zero point 0) with one scale per output column
 *   (per-channel) or one for the whole tensor; A is quantised to uint8 at run time by ORT.
 * - `Conv(X, W, B)` (optional, `conv: true`) becomes `DynamicQuantizeLinear(X)` → `ConvInteger` →
 *   `Cast` to float → `Mul` by x_scale · w_scale (w_scale per output channel, applied after the
 *   integer convolution, which is why per-channel works although ORT's ConvInteger takes only a
 *   scalar weight zero point) → `Add` bias.
 *
 * Symmetric int8 weights: q = round(w / s) clamped to ±qmax, s = max|w| / qmax; qmax = 127, or 63
 * with `reduceRange` (7-bit weights, as ORT's own quantiser does for CPUs without VNNI, where
 * u8·s8 products are summed in saturating 16-bit pairs).
 *
 * The schema is `models/onnx.proto`, read with protobufjs; decode → encode of an unchanged model
 * gives back the same bytes length (checked in the tests), so nothing is lost on the way.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';

/* The subset of the decoded protobuf objects that this transform touches. */
export interface TensorProto {
  name?: string;
  dims: (number | Long)[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
}
interface Long {
  toNumber(): number;
}
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: number | Long;
  ints?: (number | Long)[];
}
export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute: AttributeProto[];
}
export interface GraphProto {
  node: NodeProto[];
  initializer: TensorProto[];
  input: { name?: string }[];
}
export interface ModelProto {
  irVersion?: number | Long;
  opsetImport: { domain?: string; version?: number | Long }[];
  graph: GraphProto;
  producerName?: string;
  producerVersion?: string;
}

const FLOAT = 1;
const INT8 = 3;
const ATTR_INT = 2;

let modelType: protobuf.Type | null = null;
function schema(): protobuf.Type {
  if (!modelType) {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const candidates = [path.join(here, 'onnx.proto'), path.join(here, 'models', 'onnx.proto'), path.join(here, '..', 'models', 'onnx.proto')];
    const root = new protobuf.Root();
    let lastError: unknown = null;
    for (const c of candidates) {
      try {
        root.loadSync(c, { keepCase: false });
        lastError = null;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (lastError) throw new Error(`onnx.proto not found next to the model tools (${candidates.join(', ')})`);
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  return schema().decode(bytes) as unknown as ModelProto;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return schema().encode(model as unknown as protobuf.Message).finish();
}

const num = (v: number | Long | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** A float initializer's values (raw_data little-endian float32, or float_data). */
export function floatValues(t: TensorProto): Float32Array {
  if (t.dataType !== FLOAT) throw new Error(`tensor ${t.name} is not float32`);
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

function tensor(name: string, dataType: number, dims: number[], data: Int8Array | Float32Array | Int32Array | BigInt64Array): TensorProto {
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) } as TensorProto;
}

export interface QuantizedWeights {
  q: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric int8 quantisation of a row-major tensor. `channelAxis` null = one scale for the whole
 * tensor; otherwise one scale per index along that axis.
 */
export function quantizeSymmetric(w: Float32Array, dims: number[], channelAxis: number | null, qmax = 127): QuantizedWeights {
  const channels = channelAxis === null ? 1 : dims[channelAxis];
  const inner = channelAxis === null ? 1 : dims.slice(channelAxis + 1).reduce((a, b) => a * b, 1);
  const chOf = (i: number) => (channelAxis === null ? 0 : Math.floor(i / inner) % channels);
  const absMax = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = chOf(i);
    const a = Math.abs(w[i]);
    if (a > absMax[c]) absMax[c] = a;
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = absMax[c] > 0 ? absMax[c] / qmax : 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = Math.round(w[i] / scales[chOf(i)]);
    q[i] = v > qmax ? qmax : v < -qmax ? -qmax : v;
  }
  return { q, scales };
}

export interface QuantizeOptions {
  /** Quantise 2-D MatMul/Gemm weights (default true). */
  matmul?: boolean;
  /** Quantise Conv weights through ConvInteger (default false). */
  conv?: boolean;
  /** One scale per output channel (default true) instead of one per tensor. */
  perChannel?: boolean;
  /** 7-bit weights (default false). */
  reduceRange?: boolean;
  /** Leave weights with fewer elements than this in float (default 4096). */
  minElements?: number;
  /** Only nodes whose name matches (default: all). */
  nodeFilter?: (node: NodeProto) => boolean;
}

export interface QuantizeStats {
  matmul: number;
  gemm: number;
  conv: number;
  floatBytesBefore: number;
  floatBytesAfter: number;
}

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** Quantises the model in place; returns what it changed. */
export function quantizeModel(model: ModelProto, opts: QuantizeOptions = {}): QuantizeStats {
  const { matmul = true, conv = false, perChannel = true, reduceRange = false, minElements = 4096, nodeFilter = () => true } = opts;
  const qmax = reduceRange ? 63 : 127;
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const graphInputs = new Set(g.input.map((i) => i.name));
  const stats: QuantizeStats = { matmul: 0, gemm: 0, conv: 0, floatBytesBefore: 0, floatBytesAfter: 0 };
  for (const t of g.initializer) if (t.dataType === FLOAT) stats.floatBytesBefore += t.rawData?.length ?? (t.floatData?.length ?? 0) * 4;

  const weightOf = (name: string | undefined): TensorProto | null => {
    if (!name || graphInputs.has(name)) return null; // an initializer that is also an input can be overridden
    const t = inits.get(name);
    return t && t.dataType === FLOAT ? t : null;
  };
  const added: TensorProto[] = [];
  const addInit = (t: TensorProto) => {
    added.push(t);
    inits.set(t.name ?? '', t);
  };
  let uid = 0;
  const fresh = (base: string) => `${base}__q8_${uid++}`;
  const out: NodeProto[] = [];

  for (const node of g.node) {
    const domain = node.domain ?? '';
    const w = domain === '' ? weightOf(node.input[1]) : null;
    const dims = w ? w.dims.map(num) : [];
    const size = dims.reduce((a, b) => a * b, 1);
    const eligible = w !== null && size >= minElements && nodeFilter(node);

    if (eligible && matmul && node.opType === 'MatMul' && dims.length === 2) {
      const { q, scales } = quantizeSymmetric(floatValues(w), dims, perChannel ? 1 : null, qmax);
      const base = fresh(node.input[1]);
      addInit(tensor(`${base}_w`, INT8, dims, q));
      addInit(tensor(`${base}_scale`, FLOAT, perChannel ? [dims[1]] : [], scales));
      out.push({ input: [node.input[0], `${base}_w`, `${base}_scale`], output: node.output, name: node.name, opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', attribute: [] });
      stats.matmul++;
      continue;
    }

    if (eligible && matmul && node.opType === 'Gemm' && dims.length === 2) {
      const alpha = attr(node, 'alpha')?.f ?? 1;
      const beta = attr(node, 'beta')?.f ?? 1;
      const transA = num(attr(node, 'transA')?.i);
      const transB = num(attr(node, 'transB')?.i);
      const bias = node.input[2] ? weightOf(node.input[2]) : null;
      const biasOk = !node.input[2] || (bias !== null && bias.dims.length === 1);
      if (alpha === 1 && beta === 1 && transA === 0 && biasOk) {
        let values = floatValues(w);
        let kn = dims;
        if (transB) {
          const [n, k] = dims;
          const t = new Float32Array(values.length);
          for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) t[c * n + r] = values[r * k + c];
          values = t;
          kn = [k, n];
        }
        const { q, scales } = quantizeSymmetric(values, kn, perChannel ? 1 : null, qmax);
        const base = fresh(node.input[1]);
        addInit(tensor(`${base}_w`, INT8, kn, q));
        addInit(tensor(`${base}_scale`, FLOAT, perChannel ? [kn[1]] : [], scales));
        const inputs = [node.input[0], `${base}_w`, `${base}_scale`];
        if (node.input[2]) inputs.push('', node.input[2]); // no b_zero_point (symmetric), then bias
        out.push({ input: inputs, output: node.output, name: node.name, opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', attribute: [] });
        stats.gemm++;
        continue;
      }
    }

    if (eligible && conv && node.opType === 'Conv' && dims.length >= 3 && num(attr(node, 'group')?.i ?? 1) === 1) {
      const bias = node.input[2] ? weightOf(node.input[2]) : null;
      if (!node.input[2] || bias) {
        const { q, scales } = quantizeSymmetric(floatValues(w), dims, perChannel ? 0 : null, qmax);
        const base = fresh(node.input[1]);
        const y = node.output[0];
        const bcast = [perChannel ? dims[0] : 1, ...dims.slice(2).map(() => 1)]; // [C, 1(, 1)] against [N, C, L(, W)]
        addInit(tensor(`${base}_w`, INT8, dims, q));
        addInit(tensor(`${base}_wzp`, INT8, [], new Int8Array(1)));
        addInit(tensor(`${base}_wscale`, FLOAT, bcast, scales));
        const n = (op: string, input: string[], output: string[], attribute: AttributeProto[] = []): NodeProto => ({ input, output, opType: op, name: `${node.name ?? base}/${op}_q8_${uid++}`, domain: '', attribute });
        out.push(n('DynamicQuantizeLinear', [node.input[0]], [`${base}_xq`, `${base}_xscale`, `${base}_xzp`]));
        const convAttrs = node.attribute.filter((a) => ['dilations', 'group', 'kernel_shape', 'pads', 'strides', 'auto_pad'].includes(a.name ?? ''));
        out.push(n('ConvInteger', [`${base}_xq`, `${base}_w`, `${base}_xzp`, `${base}_wzp`], [`${base}_acc`], convAttrs));
        out.push(n('Cast', [`${base}_acc`], [`${base}_accf`], [{ name: 'to', type: ATTR_INT, i: FLOAT }]));
        out.push(n('Mul', [`${base}_xscale`, `${base}_wscale`], [`${base}_scale`]));
        out.push(n('Mul', [`${base}_accf`, `${base}_scale`], [bias ? `${base}_nobias` : y]));
        if (bias) {
          const b = floatValues(bias);
          addInit(tensor(`${base}_bias`, FLOAT, [dims[0], ...dims.slice(2).map(() => 1)], b));
          out.push(n('Add', [`${base}_nobias`, `${base}_bias`], [y]));
        }
        stats.conv++;
        continue;
      }
    }
    out.push(node);
  }

  // Drop float initializers no node uses any more.
  const used = new Set<string>();
  const collect = (nodes: NodeProto[]) => {
    for (const n of nodes) for (const i of n.input) used.add(i);
  };
  collect(out);
  // Subgraphs (If/Loop bodies) may reference outer initializers: keep anything they name.
  for (const n of out) for (const a of n.attribute as (AttributeProto & { g?: GraphProto; graphs?: GraphProto[] })[]) {
    if (a.g) collect(a.g.node);
    for (const sg of a.graphs ?? []) collect(sg.node);
  }
  const outputs = new Set((g as GraphProto & { output?: { name?: string }[] }).output?.map((o) => o.name) ?? []);
  g.initializer = [...g.initializer, ...added].filter((t) => used.has(t.name ?? '') || graphInputs.has(t.name) || outputs.has(t.name));
  g.node = out;
  for (const t of g.initializer) if (t.dataType === FLOAT) stats.floatBytesAfter += t.rawData?.length ?? (t.floatData?.length ?? 0) * 4;
  if (stats.matmul + stats.gemm > 0 && !model.opsetImport.some((o) => o.domain === 'com.microsoft')) model.opsetImport.push({ domain: 'com.microsoft', version: 1 });
  return stats;
}
