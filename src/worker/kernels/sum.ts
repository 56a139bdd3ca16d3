// Sum for the wasm backend, fast path for reducing leading axes (the bias gradient: a
// [64,32,32,16] tensor summed to [16]). The stock kernel transposes the reduced axes to the end
// first (~2 ms); this streams the tensor once, accumulating in float64. Other cases: stock.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd-module.js';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, emscripten, heapF32, heapOffset, type KernelArgs } from './wasm-heap.js';


function sumKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  const cols = tf.util.sizeFromShape(x.shape.slice(axes.length));
  const simd = simdKernels(backend);
  if (simd === null || x.dtype !== 'float32' || !leading || cols % 2 !== 0) {
    return runStockKernel(tf.Sum, args as unknown as Parameters<tf.KernelFunc>[0]);
  }
  const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
  const out = backend.makeOutput(outShape, 'float32');
  const heap = emscripten(backend);
  const accPtr = heap._malloc(cols * 8 + 8) >>> 0;
  try {
    const acc0 = (accPtr + 7) & ~7; // float64 view needs 8-byte alignment
    new Float64Array(heap.HEAPU8.buffer, acc0, cols).fill(0);
    simd.colSum(heapOffset(backend, x), acc0, rows, cols / 2);
    heapF32(backend, out).set(new Float64Array(heap.HEAPU8.buffer, acc0, cols));
  } finally {
    heap._free(accPtr);
  }
  return out;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: WASM_BACKEND,
  kernelFunc: sumKernel as unknown as tf.KernelFunc,
};
