// Lets V8 compile relaxed SIMD (shipped in Node 22, behind a flag in Node 20), for the fused
// multiply-add of the matrix products. Set before any of our modules compile; the flag only adds
// instructions to what WebAssembly may use, it changes nothing that already runs.
import { setFlagsFromString } from 'node:v8';
import { envVar } from './wasm-heap.js';

let done = false;

/** Allows relaxed SIMD in this process, unless TRAINER_WASM_FMA=0. */
export function allowRelaxedSimd(): void {
  if (done || envVar('TRAINER_WASM_FMA') === '0') return;
  done = true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}
