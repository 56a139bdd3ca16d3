// Identity for the wasm backend without a copy. tfjs clones every tensor it saves for the
// backward pass (engine.saveTensorsForBackwardMode), and the stock wasm Identity copies the data:
// ~0.3 ms per [64,32,32,16] tensor, three of them per step of the model. Tensor data is never
// written in place, so, like the cpu backend's Identity, we share the data and count a reference.
import * as tf from '../tf.js';
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

/** The engine's members the shortcut below uses (not in tfjs's public types). */
type EngineInternals = {
  backend: tf.KernelBackend;
  /** Gradients being recorded, one inside another: 1 for a training step, 2 and more for higher derivatives. */
  state: { gradientDepth: number };
  keep<T extends tf.Tensor>(t: T): T;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
  saveTensorsForBackwardMode?(tensors: tf.Tensor[]): tf.Tensor[];
};

/**
 * tfjs keeps each tensor a gradient will need by cloning it through the engine: a whole Identity
 * kernel call and a tape node per tensor, 32 for a micro-batch of the CNN, a good share of the
 * engine's garbage that the compute threads' collectors then stop for. On wasm, with our Identity
 * (which shares the data), the saved tensor is made straight from the same data with one more
 * reference counted: the same values as the clone, 3-4 % less time per micro-batch (median of 5
 * rounds of 400, 3.5-3.9 ms). Only while one gradient is recorded: there the clone's tape node
 * leads nowhere (a saved tensor is no input of the forward pass), but a gradient of a gradient
 * differentiates through the saved tensors, and needs it. Other backends, and wasm with the stock
 * Identity, keep tfjs's clone.
 */
export function shortcutSavedTensors(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  const proto = Object.getPrototypeOf(engine) as Required<EngineInternals>;
  engine.saveTensorsForBackwardMode = function (this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
    if (this.state.gradientDepth !== 1 || tf.getBackend() !== WASM_BACKEND || tf.getKernel(tf.Identity, WASM_BACKEND) !== identityConfig) {
      return proto.saveTensorsForBackwardMode.call(this, tensors);
    }
    const backend = this.backend as unknown as BackendWasm;
    return tensors.map((t) => {
      backend.incRef(t.dataId);
      return this.keep(this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, this.backend));
    });
  };
}

/** tfjs's own saving (a clone per tensor) again. */
export function restoreSavedTensors(): void {
  delete (tf.engine() as unknown as EngineInternals).saveTensorsForBackwardMode;
}
