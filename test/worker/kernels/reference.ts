// Helpers for comparing wasm kernels against the cpu backend (not a test file itself).
import * as tf from '../../../src/worker/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../../src/worker/kernels/index.js';

/** Deterministic pseudo-random values in [-scale, scale) (a fixed LCG, so runs are repeatable). */
export function randomValues(size: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') registerWasmTrainingKernels();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
}

/** Runs `fn` on the named backend and returns its result as a plain Float32Array copy. */
export async function runOn(name: 'cpu' | 'wasm', fn: () => tf.Tensor): Promise<Float32Array> {
  await useBackend(name);
  const t = fn();
  const values = new Float32Array(t.dataSync());
  t.dispose();
  return values;
}

/** max |a - b| / max |b|: the error measure the team uses against the cpu backend. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} != ${expected.length}`);
  }
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
  }
  return maxAbs === 0 ? maxDiff : maxDiff / maxAbs;
}

export function maxAbsDiff(actual: Float32Array, expected: Float32Array): number {
  let maxDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
  }
  return maxDiff;
}

export function bitIdentical(a: Float32Array, b: Float32Array): boolean {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

const bits = new Float32Array(1);
const bitsI = new Int32Array(bits.buffer);

/** The float32 next to `r` towards `target`. */
function nextToward(r: number, target: number): number {
  if (r === 0) return target > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  bits[0] = r;
  bitsI[0] = (bitsI[0] as number) + ((target > r) === (r > 0) ? 1 : -1);
  return bits[0] as number;
}

/** float32 fma(a, b, c), rounded once: a·b is exact in float64, and the sum's float64 error settles a tie. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const v = s - p;
  const err = p - (s - v) + (c - v);
  const r = Math.fround(s);
  if (err === 0 || r === s) return r;
  const other = nextToward(r, s);
  return 2 * s === r + other && (err > 0) === (other > r) ? other : r;
}
