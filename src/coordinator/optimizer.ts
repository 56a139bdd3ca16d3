/**
 * SGD with momentum and weight decay, in the coordinator, on the flat parameter
 * vector: PyTorch's torch.optim.SGD (dampening 0, no Nesterov):
 *   g = grad + weightDecay·p;  buf = momentum·buf + g (buf = g on the first step);  p -= lr·buf
 * Plain loops over Float32Arrays: every intermediate is rounded to float32 the
 * same way on every run, which the parity promise relies on.
 */
import { SIMD_BLOCK, SimdStepEnd, sharedStepEnd } from './step-simd.js';

export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface SgdState {
  /** Momentum buffer; null until the first step with momentum > 0. */
  momentum: Float32Array | null;
}

/**
 * One SGD update of `params` in place. Returns whether every parameter is
 * still a finite number: each new value, as stored in float32, is added times
 * 0 to a sum that stays 0 exactly when all are finite (x*0 is NaN for NaN and
 * ±Inf), in the same pass, about free. The values stored are
 * those of the plain update: Math.fround of the double result is what storing
 * it into a Float32Array does anyway.
 */
export function sgdStep(params: Float32Array, grad: Float32Array, state: SgdState, opt: SgdOptions): boolean {
  const update = sgdUpdate(params, state, opt);
  return update(grad, 0, params.length);
}

/** The update of one range [from, to) of params by the same range of grad; whether its new values are all finite. */
type RangeUpdate = (grad: Float32Array, from: number, to: number) => boolean;

/** sgdStep's update, to be applied range by range (each element once per step). */
function sgdUpdate(params: Float32Array, state: SgdState, opt: SgdOptions): RangeUpdate {
  const { lr, momentum, weightDecay } = opt;
  if (momentum === 0 && weightDecay === 0) return (grad, from, to) => plainSgd(params, grad, lr, from, to);
  if (momentum === 0) {
    // Weight decay without momentum.
    return (grad, from, to) => {
      let s = 0;
      for (let i = from; i < to; i++) {
        const p = params[i] as number;
        const g = Math.fround((grad[i] as number) + Math.fround(weightDecay * p));
        const v = Math.fround(p - Math.fround(lr * g));
        params[i] = v;
        s += v * 0;
      }
      return s === 0;
    };
  }
  const first = state.momentum === null;
  const buf = (state.momentum ??= new Float32Array(params.length));
  return (grad, from, to) => {
    let s = 0;
    for (let i = from; i < to; i++) {
      const p = params[i] as number;
      const g = weightDecay === 0 ? (grad[i] as number) : Math.fround((grad[i] as number) + Math.fround(weightDecay * p));
      const b = first ? g : Math.fround(Math.fround(momentum * (buf[i] as number)) + g);
      buf[i] = b;
      const v = Math.fround(p - Math.fround(lr * b));
      params[i] = v;
      s += v * 0;
    }
    return s === 0;
  };
}

/**
 * The article's plain SGD, in a loop of its own, four elements a turn (3.9 vs 8.2 ms for the fc
 * model): dst[i] = src[i] - lr·grad[i] over [from, to), src and dst the same array or not.
 */
function plainSgd(params: Float32Array, grad: Float32Array, lr: number, from: number, to: number, dst: Float32Array = params): boolean {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const to4 = from + ((to - from) & ~3);
  let i = from;
  for (; i < to4; i += 4) {
    const a = Math.fround((params[i] as number) - Math.fround(lr * (grad[i] as number)));
    const b = Math.fround((params[i + 1] as number) - Math.fround(lr * (grad[i + 1] as number)));
    const c = Math.fround((params[i + 2] as number) - Math.fround(lr * (grad[i + 2] as number)));
    const d = Math.fround((params[i + 3] as number) - Math.fround(lr * (grad[i + 3] as number)));
    dst[i] = a;
    dst[i + 1] = b;
    dst[i + 2] = c;
    dst[i + 3] = d;
    s0 += a * 0;
    s1 += b * 0;
    s2 += c * 0;
    s3 += d * 0;
  }
  for (; i < to; i++) {
    const a = Math.fround((params[i] as number) - Math.fround(lr * (grad[i] as number)));
    dst[i] = a;
    s0 += a * 0;
  }
  return s0 + s1 + s2 + s3 === 0;
}

/**
 * One range [from, to) of a step end with plain SGD (no momentum, no weight decay), as compute
 * threads run it in parallel (threads/pool.ts): the step gradient there, 0 plus each of `parts`
 * in order, the last with the division by `examples`, then dst = src - lr·gradient. The bits of
 * a deferred OrderedReduction's finishStep on those elements, whoever runs which range. It
 * reads src and the parts and writes dst only, so a range run again (its thread was lost
 * midway) gives the same values when src is not dst. Whether every new value is finite.
 */
export function plainStepEnd(
  parts: readonly Float32Array[],
  examples: number,
  lr: number,
  src: Float32Array,
  dst: Float32Array,
  from: number,
  to: number,
  /** Wasm SIMD where it runs (default); false: the JavaScript loops (tests compare). */
  useSimd = true,
): boolean {
  if (parts.length === 0) throw new Error('step end without micro-batch gradients');
  // In place in the memory the threads share, where everything is there (step-simd.ts sharedStepEnd); the tail here.
  const inPlace = useSimd ? sharedStepEnd(parts, examples, lr, src, dst, from, to) : null;
  if (inPlace !== null) return (inPlace.end === to || plainStepEnd(parts, examples, lr, src, dst, inPlace.end, to, false)) && inPlace.finite;
  const rest = parts.slice(0, -1);
  const last = parts[parts.length - 1] as Float32Array;
  const simd = useSimd ? simdStepEnd() : null;
  const vectorEnd = simd ? from + ((to - from) & ~3) : from;
  let finite = true;
  if (simd) {
    simd.begin();
    for (let f = from; f < vectorEnd; f += SIMD_BLOCK) {
      const t = Math.min(f + SIMD_BLOCK, vectorEnd);
      // No prefix: the sum starts from 0 (the first argument is not read).
      simd.sum(dst, false, rest, last, examples, f, t);
      simd.sgd(src, dst, lr, f, t);
    }
    finite = simd.finite();
  }
  const grad = new Float32Array(Math.min(BLOCK, to - vectorEnd));
  for (let f = vectorEnd; f < to; f += BLOCK) {
    const t = Math.min(f + BLOCK, to);
    const n = t - f;
    const g = grad.subarray(0, n);
    g.fill(0);
    for (const p of rest) addInto(g, p.subarray(f, t), 0, n);
    addAndDivide(g, last.subarray(f, t), examples, 0, n);
    if (!plainSgd(src.subarray(f, t), g, lr, 0, n, dst.subarray(f, t))) finite = false;
  }
  return finite;
}

/**
 * The step gradient: micro-batch gradients added in micro-batch order (a fixed
 * left-to-right sum, rounded to float32 after each addition), then divided by
 * the number of examples in the global batch.
 */
export function reduceGradients(out: Float32Array, parts: readonly Float32Array[], examples: number): void {
  const r = new OrderedReduction(out, parts.length, examples);
  parts.forEach((p, m) => r.add(m, p));
  r.finish();
}

/**
 * The same fixed-order sum, fed as micro-batches arrive in any order, and
 * finished with or without the SGD update that follows it.
 *
 * Eager (the default): part m is added as soon as parts 0..m-1 have been, so
 * most of the reduction happens while later micro-batches still compute: what
 * a coordinator with a core of its own wants (workers on other machines).
 * Deferred: parts are kept until the last one and everything is added at
 * the end: what workers sharing the coordinator's cores want (threads, the
 * coordinator's own thread), since adding early takes a core from them.
 *
 * Either way the end is one pass, block by block so that each block stays in
 * cache: the parts not yet added, the last one with the division by the
 * examples of the global batch, and (finishStep) the SGD update. The same
 * operations on each element in the same order, so the same bits, whichever
 * mode and however the parts arrive.
 */
export class OrderedReduction {
  private next = 0;
  private readonly waiting = new Map<number, Float32Array>();

  private readonly eager: boolean;
  private readonly simd: boolean;

  constructor(
    private readonly out: Float32Array,
    private readonly count: number,
    /** Examples in the global batch. */
    private readonly examples: number,
    /** eager: add parts as they come (default true); simd: finish in wasm SIMD where it runs (default true; tests compare). */
    o: { eager?: boolean; simd?: boolean } = {},
  ) {
    this.eager = o.eager ?? true;
    this.simd = o.simd ?? true;
    if (this.eager) out.fill(0);
  }

  /** Adds part m; each part exactly once (a pool reports each result once). */
  add(m: number, part: Float32Array): void {
    if (!Number.isInteger(m) || m < 0 || m >= this.count || m < this.next || this.waiting.has(m)) {
      throw new Error(`reduction: part ${m} of ${this.count} given twice or out of range`);
    }
    this.waiting.set(m, part);
    if (!this.eager) return;
    const last = this.count - 1;
    for (let p = this.waiting.get(this.next); p !== undefined && this.next < last; p = this.waiting.get(this.next)) {
      addInto(this.out, p, 0, this.out.length);
      this.waiting.delete(this.next++);
    }
  }

  /** Adds what is left and divides: `out` then holds the step gradient. */
  finish(): void {
    this.complete(null);
  }

  /**
   * finish, and the SGD update of `params` by the step gradient in the same
   * pass: the bits of finish() then sgdStep(). Whether every parameter is still finite.
   */
  finishStep(params: Float32Array, state: SgdState, opt: SgdOptions): boolean {
    return this.complete({ params, state, opt });
  }

  private complete(step: { params: Float32Array; state: SgdState; opt: SgdOptions } | null): boolean {
    const parts = Array.from({ length: this.count - this.next }, (_, k) => this.waiting.get(this.next + k));
    const missing = parts.findIndex((p) => p === undefined);
    if (missing >= 0) throw new Error(`reduction has ${this.count - parts.length + missing} of ${this.count} micro-batches`);
    const { out, examples } = this;
    if (step !== null && this.next === 0 && step.opt.momentum === 0 && step.opt.weightDecay === 0) {
      // Nothing added yet, plain SGD: the pass the threads run by ranges (plainStepEnd), here over all of it.
      this.waiting.clear();
      this.next = this.count;
      return plainStepEnd(parts as Float32Array[], examples, step.opt.lr, step.params, step.params, 0, out.length, this.simd);
    }
    const rest = parts as Float32Array[];
    const lastPart = rest.pop() as Float32Array;
    const update = step ? sgdUpdate(step.params, step.state, step.opt) : null;
    let finite = true;
    // Wasm SIMD over the whole multiple of 4 floats, plain SGD included; momentum and weight decay in JavaScript.
    const simd = this.simd ? simdStepEnd() : null;
    const vectorEnd = simd ? out.length & ~3 : 0;
    if (simd) {
      const plain = step !== null && step.opt.momentum === 0 && step.opt.weightDecay === 0;
      simd.begin();
      for (let from = 0; from < vectorEnd; from += SIMD_BLOCK) {
        const to = Math.min(from + SIMD_BLOCK, vectorEnd);
        simd.sum(out, this.next > 0, rest, lastPart, examples, from, to);
        if (plain) {
          simd.sgd(step.params, step.params, step.opt.lr, from, to);
        } else {
          simd.gradientTo(out, from, to);
          if (update && !update(out, from, to)) finite = false;
        }
      }
      if (!simd.finite()) finite = false;
    }
    for (let from = vectorEnd; from < out.length; from += BLOCK) {
      const to = Math.min(from + BLOCK, out.length);
      if (this.next === 0) out.fill(0, from, to);
      for (const p of rest) addInto(out, p, from, to);
      addAndDivide(out, lastPart, examples, from, to);
      if (update && !update(out, from, to)) finite = false;
    }
    this.waiting.clear();
    this.next = this.count;
    return finite;
  }
}

/** Elements a block of the final pass in JavaScript: 16 KB of the step gradient, which stays in cache from one loop to the next. */
const BLOCK = 4096;

let simdEnd: SimdStepEnd | null | undefined;
/** The wasm module, made once per thread; null where it cannot run. */
function simdStepEnd(): SimdStepEnd | null {
  if (simdEnd === undefined) simdEnd = SimdStepEnd.create();
  return simdEnd;
}

// Four elements a turn: V8 runs these loops about 40 % faster than one at a
// time (3.1 vs 5.1 ms for the fc model's 3.7 M floats), with the same
// operations on each element.

/** out += p over [from, to). */
function addInto(out: Float32Array, p: Float32Array, from: number, to: number): void {
  const to4 = from + ((to - from) & ~3);
  let i = from;
  for (; i < to4; i += 4) {
    out[i] = (out[i] as number) + (p[i] as number);
    out[i + 1] = (out[i + 1] as number) + (p[i + 1] as number);
    out[i + 2] = (out[i + 2] as number) + (p[i + 2] as number);
    out[i + 3] = (out[i + 3] as number) + (p[i + 3] as number);
  }
  for (; i < to; i++) out[i] = (out[i] as number) + (p[i] as number);
}

/** out = (out + p) / d over [from, to), the sum rounded to float32 first (as storing it would): the bits of two passes. */
function addAndDivide(out: Float32Array, p: Float32Array, d: number, from: number, to: number): void {
  const to4 = from + ((to - from) & ~3);
  let i = from;
  for (; i < to4; i += 4) {
    out[i] = Math.fround((out[i] as number) + (p[i] as number)) / d;
    out[i + 1] = Math.fround((out[i + 1] as number) + (p[i + 1] as number)) / d;
    out[i + 2] = Math.fround((out[i + 2] as number) + (p[i + 2] as number)) / d;
    out[i + 3] = Math.fround((out[i + 3] as number) + (p[i + 3] as number)) / d;
  }
  for (; i < to; i++) out[i] = Math.fround((out[i] as number) + (p[i] as number)) / d;
}
