// MaxPool for the wasm backend: a SIMD kernel for 2x2 stride-2 pools that tile the input (the
// model's two pools), ~3x faster than the stock XNNPACK kernel there and with the cpu backend's
// NaN semantics; every other pool goes to the stock kernel.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { poolInfo, tiles2x2, type PoolAttrs } from './max-pool-grad.js';
import { simdKernels } from './simd-module.js';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, heapOffset, type KernelArgs } from './wasm-heap.js';

function maxPoolKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const simd = simdKernels(backend);
  if (simd !== null && x.dtype === 'float32' && x.shape.length === 4) {
    const info = poolInfo(x.shape, args.attrs as unknown as PoolAttrs);
    if (tiles2x2(info)) {
      const out = backend.makeOutput(info.outShape, 'float32');
      const pixBytes = info.inChannels * 4;
      simd.maxPool2x2(
        heapOffset(backend, x),
        heapOffset(backend, out),
        info.batchSize * info.outHeight,
        info.outWidth,
        info.inChannels / 4,
        pixBytes,
        info.inWidth * pixBytes,
      );
      return out;
    }
  }
  return runStockKernel(tf.MaxPool, args as unknown as Parameters<tf.KernelFunc>[0]);
}

export const maxPoolConfig: tf.KernelConfig = {
  kernelName: tf.MaxPool,
  backendName: WASM_BACKEND,
  kernelFunc: maxPoolKernel as unknown as tf.KernelFunc,
};
