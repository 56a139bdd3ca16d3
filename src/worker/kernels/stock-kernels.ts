// Remembers the stock wasm kernels we replace, so a replacement can hand cases it does not
// cover back to them, and benchmarks can compare against them.
import * as tf from '../tf.js';
import type { KernelArgs } from './wasm-heap.js';

const stock = new Map<string, tf.KernelConfig>();

export function rememberStockKernel(config: tf.KernelConfig): void {
  if (!stock.has(config.kernelName)) stock.set(config.kernelName, config);
}

export function stockKernel(kernelName: string): tf.KernelConfig | undefined {
  return stock.get(kernelName);
}


/**
 * tfjs runs a kernel's setupFunc only for kernels registered when the backend initialises; a
 * stock kernel we unregistered before that never got it, so we run it once per backend here.
 */
const setUp = new WeakMap<tf.KernelConfig, WeakSet<object>>();

export function ensureSetUp(config: tf.KernelConfig, backend: object): void {
  if (config.setupFunc === undefined) return;
  let backends = setUp.get(config);
  if (backends === undefined) {
    backends = new WeakSet();
    setUp.set(config, backends);
  }
  if (backends.has(backend)) return;
  config.setupFunc(backend as tf.KernelBackend);
  backends.add(backend);
}

/** Runs the stock kernel `kernelName`; throws when the backend never had one. */
export function runStockKernel(kernelName: string, args: KernelArgs): tf.TensorInfo {
  const config = stock.get(kernelName);
  if (config === undefined) throw new Error(`no stock wasm kernel '${kernelName}' to fall back to`);
  ensureSetUp(config, args.backend);
  return config.kernelFunc(args) as tf.TensorInfo;
}
