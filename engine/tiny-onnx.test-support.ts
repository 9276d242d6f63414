/**
 * Test support (imported only by engine tests; lint keeps it out of production modules): tiny ONNX
 * models built in memory, standing in for HTDemucs where a test needs a real graph that
 * onnxruntime-node runs in milliseconds.
 */
import { encodeModel, type ModelProto, type NodeProto } from '../models/quantize.ts';

const FLOAT = 1;

/** A float32 initializer `name` of shape `dims`. */
export const f32 = (name: string, dims: number[], data: Float32Array) => ({ name, dataType: FLOAT, dims, rawData: new Uint8Array(data.buffer.slice(0)) });
/** A float32 graph input or output `name` of the fixed shape `dims`. */
export const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
/** A node of the default domain, named `<opType>_<first output>`. */
export const node = (opType: string, input: string[], output: string[], attribute: object[] = []): NodeProto => ({ opType, input, output, name: `${opType}_${output[0]}`, domain: '', attribute: attribute as NodeProto['attribute'] });
/** Node attributes: a list of ints, an int, a float. */
export const ints = (name: string, v: number[]) => ({ name, type: 7, ints: v });
export const int = (name: string, v: number) => ({ name, type: 2, i: v });
export const flt = (name: string, v: number) => ({ name, type: 1, f: v });

/** The encoded model (IR 8, opset 17, producer `demix-test`) of the graph `tiny` made of these parts. */
export function tinyOnnx(graph: { node: object[]; initializer: object[]; input: object[]; output: object[] }): Uint8Array {
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'demix-test',
    graph: { name: 'tiny', ...graph },
  };
  return encodeModel(model as unknown as ModelProto);
}
