// Identity for the wasm backend without a copy. tfjs clones every tensor it saves for the
// backward pass (engine.saveTensorsForBackwardMode), and the stock wasm Identity copies the data:
// ~0.3 ms per [64,32,32,16] tensor, three of them per step of the model. Tensor data is never
// written in place, so, like the cpu backend's Identity, we share the data and count a reference.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { WASM_BACKEND, type KernelArgs } from './wasm-heap.js';


function identityKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: WASM_BACKEND,
  kernelFunc: identityKernel as unknown as tf.KernelFunc,
};
