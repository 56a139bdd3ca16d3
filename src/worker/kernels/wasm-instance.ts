// Instantiates modules built with wasm-asm.ts on the wasm backend's own memory, so their
// functions read and write tensors in place (pointers are the backend's memory offsets).
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type Fn, assembleModule } from './wasm-asm.js';
import { envVar } from './wasm-heap.js';

// The project's lib settings (ES2022, no DOM) do not declare WebAssembly; this is the part we use.
export type WasmMemory = { readonly buffer: ArrayBuffer | SharedArrayBuffer };
type WasmApi = {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
};
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export type WasmFunction = (...args: number[]) => void;

function findMemory(backend: BackendWasm): WasmMemory | null {
  const asm = (backend.wasm as unknown as { asm?: Record<string, unknown> }).asm;
  if (asm === undefined) return null;
  for (const value of Object.values(asm)) {
    if (value instanceof WebAssemblyApi.Memory) return value;
  }
  return null;
}

/**
 * The exported functions of a module made of `fns`, bound to the backend's memory; null where
 * that cannot be done (no SIMD support, or a threaded build, whose shared memory we do not
 * import). Set TRAINER_KERNELS_DEBUG to see why.
 */
export function instantiateOnBackend(backend: BackendWasm, fns: readonly Fn[]): Record<string, WasmFunction> | null {
  const memory = findMemory(backend);
  if (memory === null || memory.buffer instanceof SharedArrayBuffer) return null;
  return instantiate(fns, memory);
}

/**
 * instantiateOnBackend for a module built fused or plain as a whole (`fns(fused)`): fused
 * multiply-adds where V8 has relaxed SIMD (setWasmFlags) and TRAINER_WASM_FMA is not 0, else
 * plain. Every module of ours decides here, so one backend's kernels all round the same way and
 * its kind (backend.ts wasmKind: `wasm` or `wasm no-fma`) names them all.
 */
export function instantiateFusedOrPlain(backend: BackendWasm, fns: (fused: boolean) => readonly Fn[]): Record<string, WasmFunction> | null {
  const fused = envVar('TRAINER_WASM_FMA') === '0' ? null : instantiateOnBackend(backend, fns(true));
  return fused ?? instantiateOnBackend(backend, fns(false));
}

/**
 * The exported functions of a module made of `fns` on a memory of its own of `pages` 64 KB
 * pages, with that memory's buffer; null where the module cannot be made (no SIMD support).
 */
export function instantiateWithMemory(fns: readonly Fn[], pages: number): { exports: Record<string, WasmFunction>; buffer: ArrayBuffer } | null {
  if (WebAssemblyApi === undefined) return null;
  const memory = new WebAssemblyApi.Memory({ initial: pages });
  const exports = instantiate(fns, memory);
  return exports === null ? null : { exports, buffer: memory.buffer as ArrayBuffer };
}

/**
 * The exported functions of a module made of `fns` on `memory`, a shared WebAssembly.Memory (the
 * one threads share: ThreadInit.memory); null where the module cannot be made.
 */
export function instantiateOnShared(fns: readonly Fn[], memory: WasmMemory): Record<string, WasmFunction> | null {
  return WebAssemblyApi === undefined ? null : instantiate(fns, memory, true);
}

/** A shared WebAssembly.Memory of `pages` 64 KB pages (fixed size); null where WebAssembly has none. */
export function sharedMemory(pages: number): WasmMemory | null {
  try {
    return new WebAssemblyApi.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null;
  }
}

function instantiate(fns: readonly Fn[], memory: WasmMemory, shared = false): Record<string, WasmFunction> | null {
  try {
    const module = new WebAssemblyApi.Module(assembleModule(fns, shared));
    return new WebAssemblyApi.Instance(module, { env: { memory } }).exports as Record<string, WasmFunction>;
  } catch (err) {
    if (envVar('TRAINER_KERNELS_DEBUG') !== undefined) console.error(err);
    return null;
  }
}
