// BatchMatMul for the wasm backend: the stock kernel is fast (XNNPACK) only without transposes;
// the transposed products of backprop (dW = x^T dy, dx = dy W^T) take a slow loop there
// (~1.7 ms for the model's 512x32 dense layer). For a single matrix pair we transpose the
// operand(s) explicitly (tens of microseconds) and run the fast path.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, heapF32, type KernelArgs } from './wasm-heap.js';


function transposed(backend: BackendWasm, t: tf.TensorInfo): tf.TensorInfo {
  const rank = t.shape.length;
  const rows = t.shape[rank - 2]!;
  const cols = t.shape[rank - 1]!;
  const shape = [...t.shape.slice(0, -2), cols, rows];
  const out = backend.makeOutput(shape, 'float32');
  const src = heapF32(backend, t);
  const dst = heapF32(backend, out);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  }
  return out;
}

function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const single = (t: tf.TensorInfo): boolean => t.shape.length >= 2 && tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;
  const stockArgs = args as unknown as Parameters<tf.KernelFunc>[0];
  if (!(transposeA || transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b)) {
    return runStockKernel(tf.BatchMatMul, stockArgs);
  }
  const temps: tf.TensorInfo[] = [];
  try {
    const a2 = transposeA ? transposed(backend, a) : a;
    if (transposeA) temps.push(a2);
    const b2 = transposeB ? transposed(backend, b) : b;
    if (transposeB) temps.push(b2);
    return runStockKernel(tf.BatchMatMul, {
      ...stockArgs,
      inputs: { a: a2, b: b2 },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: WASM_BACKEND,
  kernelFunc: batchMatMulKernel as unknown as tf.KernelFunc,
};
