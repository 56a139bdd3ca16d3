// Entry point: registers the wasm-backend kernels that make training possible (and fast) on wasm.
import * as tf from '../tf.js';
import { addConfig } from './add.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2dConfig } from './conv2d.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { identityConfig, restoreSavedTensors, shortcutSavedTensors } from './identity.js';
import { maxPoolConfig } from './max-pool.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { setWasmFlags } from './v8-wasm-flags.js';
import { ensureSetUp, rememberStockKernel, stockKernel } from './stock-kernels.js';
import { sumConfig } from './sum.js';
import { tanhConfig } from './tanh.js';
import { TANH_GRAD, overrideTanhGradient, restoreTanhGradient, tanhGradConfig } from './tanh-grad.js';

tf.requireTfjs('@tensorflow/tfjs-backend-wasm');

/** Every kernel this folder provides, all for the 'wasm' backend. */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2dConfig,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  tanhConfig,
  tanhGradConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  sumConfig,
  addConfig,
  batchMatMulConfig,
  identityConfig,
];

/**
 * Registers every kernel in this folder for the 'wasm' backend, replacing stock ones of the same
 * name, the Tanh gradient that uses TrainerTanhGrad on wasm (tfjs's own elsewhere), and the
 * shortcut for tensors saved for the backward pass (identity.ts). Safe to
 * call more than once, before or after tf.setBackend('wasm'): our kernels need no setupFunc
 * (tfjs runs those only when a backend initialises), they set themselves up lazily.
 */
export function registerWasmTrainingKernels(): void {
  setWasmFlags();
  for (const config of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current === config) continue;
    if (current !== undefined) {
      rememberStockKernel(current);
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
  overrideTanhGradient();
  shortcutSavedTensors();
}

/**
 * Puts back the stock kernels (and removes ours where wasm has none, with tfjs's Tanh gradient
 * for TrainerTanhGrad), for before/after comparisons. `names` limits this to some kernels.
 */
export function unregisterWasmTrainingKernels(names?: readonly string[]): void {
  if (names === undefined || names.includes(TANH_GRAD)) restoreTanhGradient();
  if (names === undefined) restoreSavedTensors();
  for (const config of WASM_TRAINING_KERNELS) {
    if (names !== undefined && !names.includes(config.kernelName)) continue;
    if (tf.getKernel(config.kernelName, config.backendName) !== config) continue;
    tf.unregisterKernel(config.kernelName, config.backendName);
    const stock = stockKernel(config.kernelName);
    if (stock === undefined) continue;
    tf.registerKernel(stock);
    const backend = tf.findBackend(config.backendName);
    if (backend !== null) ensureSetUp(stock, backend);
  }
}
