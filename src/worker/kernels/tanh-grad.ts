// The gradient of Tanh as one wasm kernel. tfjs's gradient is mul(sub(1, square(y)), dy): three
// kernels, two temporaries and a scalar per tanh layer (~0.4 ms of a 6.7 ms step at batch 32).
// TrainerTanhGrad does the same three float32 operations per element in the same order, so its
// results are bit for bit tfjs's, and weight hashes of training runs do not move.
//
// Gradients are registered per kernel, not per backend, so the override below sees every
// backend: it takes the fused kernel only on wasm with the SIMD module available, and hands
// everything else (cpu, tfjs-node, TRAINER_WASM_SIMD=0) to tfjs's own gradient unchanged.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd-module.js';
import { WASM_BACKEND, heapF32, heapOffset, type KernelArgs } from './wasm-heap.js';

/** Kernel name of the fused gradient; inputs { dy, y } of one shape, float32. */
export const TANH_GRAD = 'TrainerTanhGrad';


function tanhGradKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, y } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
  if (!tf.util.arraysEqual(dy.shape, y.shape)) {
    throw new Error(`${TANH_GRAD} needs dy and y of one shape, got [${dy.shape.join(',')}] and [${y.shape.join(',')}]`);
  }
  const out = backend.makeOutput(y.shape, 'float32');
  const n = tf.util.sizeFromShape(y.shape);
  const simd = simdKernels(backend);
  if (simd !== null) {
    simd.tanhGrad(heapOffset(backend, dy), heapOffset(backend, y), heapOffset(backend, out), n);
    return out;
  }
  // Each step rounds to float32 as tfjs's kernels do (a double product or difference of two
  // floats, rounded once, is the correctly rounded float32 result).
  const [d, v, o] = [heapF32(backend, dy), heapF32(backend, y), heapF32(backend, out)];
  for (let i = 0; i < n; i++) {
    const yi = v[i]!;
    o[i] = Math.fround(1 - Math.fround(yi * yi)) * d[i]!;
  }
  return out;
}

export const tanhGradConfig: tf.KernelConfig = {
  kernelName: TANH_GRAD,
  backendName: WASM_BACKEND,
  kernelFunc: tanhGradKernel as unknown as tf.KernelFunc,
};

/** tfjs's own Tanh gradient, remembered when we first replace it. */
let stockTanhGradient: tf.GradConfig | undefined;

function fusedApplies(dy: tf.Tensor, y: tf.Tensor): boolean {
  return (
    tf.getBackend() === WASM_BACKEND &&
    tf.getKernel(TANH_GRAD, WASM_BACKEND) !== undefined &&
    dy.dtype === 'float32' && y.dtype === 'float32' && tf.util.arraysEqual(dy.shape, y.shape) &&
    simdKernels(tf.backend() as BackendWasm) !== null
  );
}

/** The Tanh gradient while our kernels are registered. */
export const tanhGradientConfig: tf.GradConfig = {
  kernelName: tf.Tanh,
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [y] = saved;
    if (y !== undefined && fusedApplies(dy as tf.Tensor, y)) {
      return { x: () => tf.engine().runKernel(TANH_GRAD, { dy: dy as tf.Tensor, y }) as tf.Tensor };
    }
    if (stockTanhGradient === undefined) throw new Error('no stock Tanh gradient to fall back to');
    return stockTanhGradient.gradFunc(dy, saved, attrs);
  },
};

/**
 * The gradient of TrainerTanhGrad itself (for gradients of gradients): the ops tfjs's chain rule
 * would run through mul(sub(1, square(y)), dy), in the same order.
 */
export const tanhGradGradientConfig: tf.GradConfig = {
  kernelName: TANH_GRAD,
  inputsToSave: ['dy', 'y'],
  gradFunc: (g, saved) => {
    const [dy, y] = saved as [tf.Tensor, tf.Tensor];
    const dz = g as tf.Tensor;
    return {
      dy: () => tf.mul(dz, tf.sub(tf.scalar(1), tf.square(y))),
      y: () => tf.mul(tf.neg(tf.mul(dz, dy)), tf.mul(y, 2)),
    };
  },
};

/** Puts our gradients in place of tfjs's Tanh gradient. Safe to call more than once. */
export function overrideTanhGradient(): void {
  const current = tf.getGradient(tf.Tanh);
  if (current === undefined) return; // nothing to override (tfjs always registers one)
  if (current !== tanhGradientConfig) {
    stockTanhGradient ??= current;
    tf.registerGradient(tanhGradientConfig);
  }
  if (tf.getGradient(TANH_GRAD) !== tanhGradGradientConfig) tf.registerGradient(tanhGradGradientConfig);
}

/** Puts tfjs's Tanh gradient back. */
export function restoreTanhGradient(): void {
  if (tf.getGradient(tf.Tanh) === tanhGradientConfig && stockTanhGradient !== undefined) {
    tf.registerGradient(stockTanhGradient);
  }
}
