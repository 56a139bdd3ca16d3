// Tanh for the wasm backend. The stock kernel calls libm tanhf per element (~20 ms for the
// model's first activation at batch 64); this is a SIMD rational approximation (~0.5 ms),
// within 1e-6 of Math.tanh.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd-module.js';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, heapOffset, type KernelArgs } from './wasm-heap.js';

function tanhKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const simd = simdKernels(backend);
  if (simd === null || x.dtype !== 'float32') {
    return runStockKernel(tf.Tanh, args as unknown as Parameters<tf.KernelFunc>[0]);
  }
  const out = backend.makeOutput(x.shape, 'float32');
  simd.tanh(heapOffset(backend, x), heapOffset(backend, out), tf.util.sizeFromShape(x.shape));
  return out;
}

export const tanhConfig: tf.KernelConfig = {
  kernelName: tf.Tanh,
  backendName: WASM_BACKEND,
  kernelFunc: tanhKernel as unknown as tf.KernelFunc,
};
