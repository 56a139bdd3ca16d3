// The end of a step as wasm SIMD: the micro-batch gradients still to add, the division by the
// examples of the global batch, and the plain SGD update, block by block through a small wasm
// memory of its own. The same loops in JavaScript run one element at a time at about 2.5 ns per
// element and pass (46 ms a step for the fc model's 3.7 M parameters and 4 micro-batches); here
// four lanes go at once, and each block is copied in and out with memcpy. Where the arrays are
// in the memory the threads share, sharedStepEnd (below) does it in place instead, in one pass.
//
// The same IEEE operations as optimizer.ts's loops, element by element, so the same bits:
// f32x4.add is a float32 addition (JavaScript adds the two floats in double and rounds on
// storing, which gives the same value); f32x4.div by the batch size (an integer, exact in
// float32) is the float32 quotient that Math.fround(x / d) gives; and lr·g is formed in double,
// as JavaScript does (lr is a double, 0.01 has no float32), then rounded to float32
// (f32x4.demote_f64x2_zero), and subtracted in float32.
import { Fn, HIGH_HALF } from '../worker/kernels/wasm-asm.js';
import { wasmSimdOff } from '../worker/kernels/wasm-heap.js';
import { instantiateOnShared, instantiateWithMemory, type WasmFunction, type WasmMemory } from '../worker/kernels/wasm-instance.js';

/** Floats a block: three blocks (sum, part, parameters) of 32 KB stay in the core's L2 cache. */
export const SIMD_BLOCK = 8192;
const SUM = 0;
const PART = SIMD_BLOCK * 4;
const PARAMS = 2 * SIMD_BLOCK * 4;
/** Four float32 lanes: each new parameter times 0 summed, 0 exactly when all are finite. */
const FLAG = 3 * SIMD_BLOCK * 4;
const PAGES = Math.ceil((FLAG + 16) / 65536);
/** Vectors per iteration of the main loops. */
const UNROLL = 4;
/** i8x16.shuffle lanes: the low two floats of the first operand, then the low two of the second. */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** `vector(j)` over n floats (a multiple of 4), UNROLL vectors a turn, then one at a time; `i` is the float index, j the vector within a turn. */
function vectorLoops(f: Fn, n: number, i: number, vector: (j: number) => void): void {
  const end = f.local('i32');
  f.get(n).i32(-4 * UNROLL).and().set(end);
  f.forLoop(i, () => f.i32(0), () => f.get(end), 4 * UNROLL, () => {
    for (let j = 0; j < UNROLL; j++) vector(j);
  });
  f.forLoop(i, () => f.get(i), () => f.get(n), 4, () => vector(0));
}

/** add(sumPtr, partPtr, n): sum[i] += part[i]. */
function addFn(): Fn {
  const f = new Fn('add', ['i32', 'i32', 'i32']);
  const [sum, part, n] = [0, 1, 2];
  const i = f.local('i32');
  const at = (base: number): Fn => f.get(base).get(i).i32(2).shl().add();
  vectorLoops(f, n, i, (j) => {
    at(sum);
    at(sum).v128Load(16 * j);
    at(part).v128Load(16 * j).f32x4Add().v128Store(16 * j);
  });
  return f;
}

/** addDivide(sumPtr, partPtr, n, d): sum[i] = (sum[i] + part[i]) / d. */
function addDivideFn(): Fn {
  const f = new Fn('addDivide', ['i32', 'i32', 'i32', 'f32']);
  const [sum, part, n, d] = [0, 1, 2, 3];
  const i = f.local('i32');
  const dv = f.local('v128');
  const at = (base: number): Fn => f.get(base).get(i).i32(2).shl().add();
  f.get(d).f32x4Splat().set(dv);
  vectorLoops(f, n, i, (j) => {
    at(sum);
    at(sum).v128Load(16 * j);
    at(part).v128Load(16 * j).f32x4Add().get(dv).f32x4Div().v128Store(16 * j);
  });
  return f;
}

/** sgd(paramsPtr, gradPtr, n, lr, flagPtr): p[i] = p[i] - float32(lr · g[i]); flag lanes += p[i] · 0. */
function sgdFn(): Fn {
  const f = new Fn('sgd', ['i32', 'i32', 'i32', 'f64', 'i32']);
  const [params, grad, n, lr, flag] = [0, 1, 2, 3, 4];
  const i = f.local('i32');
  const [lrv, g, v, fin] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const at = (base: number): Fn => f.get(base).get(i).i32(2).shl().add();
  f.get(lr).f64x2Splat().set(lrv);
  f.get(flag).v128Load().set(fin);
  vectorLoops(f, n, i, (j) => {
    at(params);
    at(params).v128Load(16 * j);
    at(grad).v128Load(16 * j).tee(g).f64x2PromoteLow().get(lrv).f64x2Mul().f32x4DemoteF64x2Zero();
    f.get(g).get(g).i8x16Shuffle(HIGH_HALF).f64x2PromoteLow().get(lrv).f64x2Mul().f32x4DemoteF64x2Zero();
    f.i8x16Shuffle(LOW_HALVES).f32x4Sub().tee(v).v128Store(16 * j);
    f.get(fin).get(v).f32x4Const(0).f32x4Mul().f32x4Add().set(fin);
  });
  f.get(flag).get(fin).v128Store();
  return f;
}

/**
 * One block at a time: `sum` (the parts, the last one with the division), then `sgd` or
 * `gradientTo`. Blocks are multiples of 4 floats long, at most SIMD_BLOCK.
 */
export class SimdStepEnd {
  private readonly f32: Float32Array;
  private readonly add: (sum: number, part: number, n: number) => void;
  private readonly addDivide: (sum: number, part: number, n: number, d: number) => void;
  private readonly sgdRun: (params: number, grad: number, n: number, lr: number, flag: number) => void;

  private constructor(exports: Record<string, WasmFunction>, buffer: ArrayBuffer) {
    this.f32 = new Float32Array(buffer);
    this.add = exports.add as SimdStepEnd['add'];
    this.addDivide = exports.addDivide as SimdStepEnd['addDivide'];
    this.sgdRun = exports.sgd as SimdStepEnd['sgdRun'];
  }

  /** Null where wasm SIMD is unavailable, or TRAINER_WASM_SIMD=0 (the JavaScript loops then run). */
  static create(): SimdStepEnd | null {
    if (wasmSimdOff()) return null;
    const made = instantiateWithMemory([addFn(), addDivideFn(), sgdFn()], PAGES);
    return made === null ? null : new SimdStepEnd(made.exports, made.buffer);
  }

  /** Clears the finiteness lanes: before the first block of a step. */
  begin(): void {
    this.f32.fill(0, FLAG / 4, FLAG / 4 + 4);
  }

  /**
   * The step gradient of [from, to): `prefix` (out's values there: parts already added) or 0,
   * plus each of `rest` in order, plus `last`, divided by `examples`.
   */
  sum(out: Float32Array, prefix: boolean, rest: readonly Float32Array[], last: Float32Array, examples: number, from: number, to: number): void {
    const n = to - from;
    if (prefix) this.f32.set(out.subarray(from, to), SUM / 4);
    else this.f32.fill(0, SUM / 4, SUM / 4 + n);
    for (const p of rest) {
      this.f32.set(p.subarray(from, to), PART / 4);
      this.add(SUM, PART, n);
    }
    this.f32.set(last.subarray(from, to), PART / 4);
    this.addDivide(SUM, PART, n, examples);
  }

  /** dst[from, to) = src[from, to) updated by plain SGD with the block's gradient (src may be dst). */
  sgd(src: Float32Array, dst: Float32Array, lr: number, from: number, to: number): void {
    const n = to - from;
    this.f32.set(src.subarray(from, to), PARAMS / 4);
    this.sgdRun(PARAMS, SUM, n, lr, FLAG);
    dst.set(this.f32.subarray(PARAMS / 4, PARAMS / 4 + n), from);
  }

  /** The block's gradient into out[from, to). */
  gradientTo(out: Float32Array, from: number, to: number): void {
    out.set(this.f32.subarray(SUM / 4, SUM / 4 + (to - from)), from);
  }

  /** Whether every parameter updated since begin() is finite. */
  finite(): boolean {
    const at = FLAG / 4;
    return this.f32[at] === 0 && this.f32[at + 1] === 0 && this.f32[at + 2] === 0 && this.f32[at + 3] === 0;
  }
}

/**
 * Memory the threads share with the coordinator (shared-data.ts puts the weights and the gradient
 * slots in one shared WebAssembly.Memory): the step end then runs in place there (fusedStepEndFn),
 * in one pass that reads each part and the weights once and writes the new weights once, instead
 * of copying every block in and out of SimdStepEnd's memory of its own. fc's step end (3.7 M
 * parameters, 4 micro-batches, one thread, median of 15): 15.1 ms with the copies, 3.8 ms in
 * place; `trainer train --threads 2 --model.name fc` (1,280 images, 3 alternating pairs): epoch 3
 * 2,139-2,173 images/s before, 2,554-2,588 after, the same weights hash.
 */
interface SharedStepMemory {
  memory: WasmMemory;
  /** Byte offset of this thread's 16 bytes of finiteness lanes (FLAG_SLOTS of them at the memory's start). */
  flag: number;
  /** Those lanes. */
  flags: Float32Array;
  /** The fused step end by number of parts, made on first use; null where it cannot be. */
  fns: Map<number, WasmFunction | null>;
}

/** Finiteness slots at the start of a shared step memory: an int (the next free one), then 16 bytes each. */
const FLAG_SLOTS = 64;
/** Bytes a shared step memory reserves at its start (SHARED_STEP_RESERVED), a multiple of 64. */
export const SHARED_STEP_RESERVED = 64 + FLAG_SLOTS * 16;

const sharedMemories = new WeakMap<object, SharedStepMemory | null>();

/**
 * Makes `memory` (shared, its first SHARED_STEP_RESERVED bytes left for this) known to this
 * thread's step ends: arrays that are views of its buffer then take the in-place path. Each thread
 * takes a finiteness slot of its own; past FLAG_SLOTS threads, the copying path.
 */
export function registerSharedStepMemory(memory: WasmMemory): void {
  if (sharedMemories.has(memory.buffer)) return;
  const slot = Atomics.add(new Int32Array(memory.buffer, 0, 1), 0, 1);
  const flag = 64 + slot * 16;
  sharedMemories.set(memory.buffer, slot < FLAG_SLOTS && !wasmSimdOff() ? { memory, flag, flags: new Float32Array(memory.buffer, flag, 4), fns: new Map() } : null);
}

/**
 * stepEnd(dst, src, n, lr, d, flag, part0, ..., part{parts-1}) over n floats (a multiple of 4), byte
 * offsets: dst[i] = src[i] - float32(lr · g[i]) with g[i] = ((((0 + p0[i]) + p1[i]) ...) + p{parts-1}[i]) / d,
 * and the flag lanes += dst[i] · 0; SimdStepEnd's add, addDivide and sgd element for element, in
 * the same order.
 */
function fusedStepEndFn(parts: number): Fn {
  const f = new Fn('stepEnd', ['i32', 'i32', 'i32', 'f64', 'f32', 'i32', ...new Array<'i32'>(parts).fill('i32')]);
  const [dst, src, n, lr, d, flag] = [0, 1, 2, 3, 4, 5];
  const i = f.local('i32');
  const [lrv, dv, g, v, fin] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const at = (base: number): Fn => f.get(base).get(i).i32(2).shl().add();
  f.get(lr).f64x2Splat().set(lrv);
  f.get(d).f32x4Splat().set(dv);
  f.get(flag).v128Load().set(fin);
  vectorLoops(f, n, i, (j) => {
    f.f32x4Const(0);
    for (let k = 0; k < parts; k++) at(6 + k).v128Load(16 * j).f32x4Add();
    f.get(dv).f32x4Div().set(g);
    at(dst);
    at(src).v128Load(16 * j);
    f.get(g).f64x2PromoteLow().get(lrv).f64x2Mul().f32x4DemoteF64x2Zero();
    f.get(g).get(g).i8x16Shuffle(HIGH_HALF).f64x2PromoteLow().get(lrv).f64x2Mul().f32x4DemoteF64x2Zero();
    f.i8x16Shuffle(LOW_HALVES).f32x4Sub().tee(v).v128Store(16 * j);
    f.get(fin).get(v).f32x4Const(0).f32x4Mul().f32x4Add().set(fin);
  });
  f.get(flag).get(fin).v128Store();
  return f;
}

/**
 * The step end of [from, end) in place in shared memory, where `parts`, `src` and `dst` are all
 * views of one registered shared memory (registerSharedStepMemory): `end` is from plus the
 * multiple of 4 floats it did (the caller does the rest), and whether every parameter it wrote is
 * finite; null where it does not apply.
 */
export function sharedStepEnd(parts: readonly Float32Array[], examples: number, lr: number, src: Float32Array, dst: Float32Array, from: number, to: number): { end: number; finite: boolean } | null {
  const m = sharedMemories.get(src.buffer);
  if (!m || dst.buffer !== src.buffer || parts.some((p) => p.buffer !== src.buffer)) return null;
  let fn = m.fns.get(parts.length);
  if (fn === undefined) {
    fn = instantiateOnShared([fusedStepEndFn(parts.length)], m.memory)?.['stepEnd'] ?? null;
    m.fns.set(parts.length, fn);
  }
  if (fn === null) return null;
  const end = from + ((to - from) & ~3);
  const { flags } = m;
  flags.fill(0);
  fn(dst.byteOffset + 4 * from, src.byteOffset + 4 * from, end - from, lr, examples, m.flag, ...parts.map((p) => p.byteOffset + 4 * from));
  return { end, finite: flags[0] === 0 && flags[1] === 0 && flags[2] === 0 && flags[3] === 0 };
}
