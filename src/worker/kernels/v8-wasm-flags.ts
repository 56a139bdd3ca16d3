// V8 flags for the WebAssembly this process compiles (tfjs's wasm backend and our modules), set
// once, before any of it compiles (flags are process-wide: worker threads share them). Neither
// changes a result: one adds instructions WebAssembly may use, the other when code is optimised.
import { setFlagsFromString } from 'node:v8';
import { envVar } from './wasm-heap.js';

let done = false;

/**
 * Allows relaxed SIMD (shipped in Node 22, behind a flag in Node 20) for the fused multiply-add of
 * the matrix products, unless TRAINER_WASM_FMA=0; and compiles every wasm function with the
 * optimising compiler when its module loads, unless TRAINER_WASM_EAGER=0. V8's default (dynamic
 * tiering) first runs a function as quickly compiled baseline code and optimises it in the
 * background once it has run a while: on 2 cores both taken by compute threads, that background
 * work waits, and the first epoch ran at 0.76-0.87 of the steady state (2 threads, 150 warm-up
 * micro-batches; 0.83-0.86 eager, 0.98-1.01 eager with 300). Compiling tfjs's module eagerly
 * costs a few hundred milliseconds of start-up, which the faster first epoch pays back.
 */
export function setWasmFlags(): void {
  if (done) return;
  done = true;
  if (envVar('TRAINER_WASM_FMA') !== '0') setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (envVar('TRAINER_WASM_EAGER') !== '0') setFlagsFromString('--no-wasm-dynamic-tiering');
}
