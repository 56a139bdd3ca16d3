// Shared plumbing for kernels that read and write the wasm backend's heap directly.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** What tfjs hands a kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Name tfjs uses for the wasm backend. */
export const WASM_BACKEND = 'wasm';

/**
 * A Float32Array view of a tensor that lives on the wasm heap. Views must be taken after every
 * allocation in the same kernel: malloc may grow the memory, which detaches older views.
 */
export function heapF32(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') {
    throw new Error(`wasm training kernels need float32 tensors, got ${t.dtype}`);
  }
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * Copies a float32 tensor's values into `out` at `offset`. On the wasm backend straight from its
 * heap (one copy, nothing allocated; `t` may be a kernel's result); elsewhere `t` is a tensor,
 * read through dataSync (a fresh array, then a copy).
 */
export function copyFloatsInto(t: tf.TensorInfo, out: Float32Array, offset: number): void {
  const backend = t.dtype === 'float32' && tf.getBackend() === WASM_BACKEND ? (tf.backend() as BackendWasm) : null;
  out.set(backend ? heapF32(backend, t) : ((t as tf.Tensor).dataSync() as Float32Array), offset);
}

/** Byte offset of a tensor's data inside the wasm memory. */
export function heapOffset(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

/** The Emscripten module behind the backend (its type is not shipped with tfjs-backend-wasm). */
export type EmscriptenHeap = {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
};

export function emscripten(backend: BackendWasm): EmscriptenHeap {
  return backend.wasm as unknown as EmscriptenHeap;
}

/** An environment variable, or undefined where there is no `process` (a browser worker). */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

let simdOff = false;

/**
 * Whether TRAINER_WASM_SIMD=0 turns our wasm modules off (the stock kernels and JavaScript loops
 * run), as read when this module loaded or at the last readKernelSwitches(). Kernels ask on every
 * call, and reading process.env costs about 2 µs: 1.5 % of a micro-batch of the CNN.
 */
export function wasmSimdOff(): boolean {
  return simdOff;
}

/** Reads the kernels' switches from the environment again (for code that changes it: tests). */
export function readKernelSwitches(): void {
  simdOff = envVar('TRAINER_WASM_SIMD') === '0';
}

readKernelSwitches();
