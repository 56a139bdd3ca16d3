// The SIMD kernels, assembled once per wasm backend instance and run on its own memory, so they
// read and write tensors in place. Every function here is a fixed sequence of IEEE operations,
// which makes results bit-identical across runs and machines.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Fn } from './wasm-asm.js';
import { wasmSimdOff } from './wasm-heap.js';
import { CONV_BPF_BLOCKS, convBpfFn } from './conv2d-backprop-filter-simd.js';
import { tanhGradFn } from './tanh-grad-simd.js';
import { instantiateFusedOrPlain } from './wasm-instance.js';

/** Eigen's rational tanh (generic_fast_tanh_float): |error| < 1e-6 over all floats. */
export const TANH_CLAMP = 7.90531110763549805;
export const TANH_TINY = 0.0004;
export const TANH_ALPHA = [
  4.89352455891786e-3, 6.37261928875436e-4, 1.48572235717979e-5, 5.12229709037114e-8,
  -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16,
];
export const TANH_BETA = [4.89352518554385e-3, 2.26843463243900e-3, 1.18534705686654e-4, 1.19825839466702e-6];

/**
 * Emits tanh of each v128 local in `xs` into fresh locals, which it returns. The steps are
 * interleaved across the inputs so that their dependency chains overlap. With `fused`, each
 * Horner step is relaxed SIMD's multiply-add (one rounding on CPUs with FMA).
 */
function emitTanh(f: Fn, xs: readonly number[], fused: boolean): number[] {
  const k = (c: number): Fn => f.f32x4Const(c);
  /** Pushes a·b + c: a and b pushed by the caller, then this pushes c (`addend`) and combines. */
  const multiplyAdd = (addend: () => void): void => {
    if (fused) {
      addend();
      f.f32x4RelaxedMadd();
    } else {
      f.f32x4Mul();
      addend();
      f.f32x4Add();
    }
  };
  const xc = xs.map(() => f.local('v128'));
  const x2 = xs.map(() => f.local('v128'));
  const p = xs.map(() => f.local('v128'));
  const q = xs.map(() => f.local('v128'));
  xs.forEach((x, j) => {
    // pmin/pmax (x first) are single instructions and still pass NaN through, like f32.min/max.
    f.get(x);
    k(TANH_CLAMP).f32x4Pmin();
    k(-TANH_CLAMP).f32x4Pmax();
    f.tee(xc[j]!).get(xc[j]!).f32x4Mul().set(x2[j]!);
  });
  // Horner's scheme, highest coefficient first.
  xs.forEach((_, j) => {
    f.get(x2[j]!);
    k(TANH_ALPHA[6]!);
    multiplyAdd(() => k(TANH_ALPHA[5]!));
    f.set(p[j]!);
    f.get(x2[j]!);
    k(TANH_BETA[3]!);
    multiplyAdd(() => k(TANH_BETA[2]!));
    f.set(q[j]!);
  });
  for (let i = 4; i >= 0; i--) {
    xs.forEach((_, j) => {
      f.get(p[j]!).get(x2[j]!);
      multiplyAdd(() => k(TANH_ALPHA[i]!));
      f.set(p[j]!);
      if (i >= 3) {
        f.get(q[j]!).get(x2[j]!);
        multiplyAdd(() => k(TANH_BETA[i - 3]!));
        f.set(q[j]!);
      }
    });
  }
  return xs.map((x, j) => {
    f.get(p[j]!).get(xc[j]!).f32x4Mul().get(q[j]!).f32x4Div();
    // Tiny inputs return x itself (which keeps -0 as -0).
    const r = p[j]!;
    f.set(r);
    f.get(x).get(r).get(x).f32x4Abs().f32x4Const(TANH_TINY).f32x4Lt().bitselect().set(r);
    return r;
  });
}

/** Vectors per iteration of the tanh loop: enough independent work to hide latencies. */
const TANH_UNROLL = 4;

/**
 * tanh(inPtr, outPtr, n): out[i] = tanh(in[i]) for n floats; in and out may alias. The last
 * n % 4 floats go through the same vector code one at a time (splat, lane 0), so a value gives
 * the same bits wherever it sits.
 */
function tanhFn(fused: boolean): Fn {
  const f = new Fn('tanh', ['i32', 'i32', 'i32']);
  const [inPtr, outPtr, n] = [0, 1, 2];
  const i = f.local('i32');
  const end = f.local('i32');
  const vs = Array.from({ length: TANH_UNROLL }, () => f.local('v128'));
  const byteAt = (base: number): Fn => f.get(base).get(i).i32(2).shl().add();
  f.get(n).i32(-4 * TANH_UNROLL).and().set(end);
  f.forLoop(i, () => f.i32(0), () => f.get(end), 4 * TANH_UNROLL, () => {
    vs.forEach((v, j) => byteAt(inPtr).v128Load(16 * j).set(v));
    emitTanh(f, vs, fused).forEach((r, j) => byteAt(outPtr).get(r).v128Store(16 * j));
  });
  f.get(n).i32(-4).and().set(end);
  f.forLoop(i, () => f.get(i), () => f.get(end), 4, () => {
    byteAt(inPtr).v128Load().set(vs[0]!);
    const [r] = emitTanh(f, [vs[0]!], fused);
    byteAt(outPtr).get(r!).v128Store();
  });
  f.forLoop(i, () => f.get(i), () => f.get(n), 1, () => {
    byteAt(inPtr).f32Load().f32x4Splat().set(vs[0]!);
    const [r] = emitTanh(f, [vs[0]!], fused);
    byteAt(outPtr).get(r!).f32x4ExtractLane(0).f32Store();
  });
  return f;
}

/**
 * maxPool2x2(xPtr, outPtr, rows, outWidth, vecs, pixBytes, rowBytes): a 2x2 stride-2 max pool
 * whose windows tile the input exactly (rows = batch*outHeight, vecs = channels/4), with the cpu
 * backend's semantics: the first value greater than all before it, starting from -Infinity (so
 * NaNs are skipped, and an all-NaN window gives -Infinity). f32x4.pmax(best, v) is exactly
 * `best < v ? v : best`, one instruction.
 */
function maxPool2x2Fn(): Fn {
  const f = new Fn('maxPool2x2', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [xPtr, outPtr, rows, outWidth, vecs, pixBytes, rowBytes] = [0, 1, 2, 3, 4, 5, 6];
  const [r, ow, cv, a, op] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  f.get(outPtr).set(op);
  f.forLoop(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.forLoop(ow, () => f.i32(0), () => f.get(outWidth), 1, () => {
      f.get(xPtr).get(r).get(rowBytes).mul().i32(1).shl().add().get(ow).get(pixBytes).mul().i32(1).shl().add().set(a);
      f.forLoop(cv, () => f.i32(0), () => f.get(vecs), 1, () => {
        f.get(op).f32x4Const(-Infinity);
        for (let k = 0; k < 4; k++) windowAddress(f, a, pixBytes, rowBytes, k).v128Load().f32x4Pmax();
        f.v128Store();
        f.get(op).i32(16).add().set(op);
        f.get(a).i32(16).add().set(a);
      });
    });
  });
  return f;
}

/** Pushes the address of a 2x2 window's k-th element (row-major) for the window at `a`. */
function windowAddress(f: Fn, a: number, pixBytes: number, rowBytes: number, k: number): Fn {
  f.get(a);
  if (k & 1) f.get(pixBytes).add();
  if (k & 2) f.get(rowBytes).add();
  return f;
}

/**
 * maxPoolGrad2x2(xPtr, dyPtr, dxPtr, rows, outWidth, vecs, pixBytes, rowBytes): the gradient of a
 * 2x2 stride-2 max pool whose windows tile the input exactly (rows = batch*outHeight, vecs =
 * channels/4). Each dy goes to the first maximum of its window in row-major order, as in the cpu
 * backend (strict >, starting from -Infinity, so an all-NaN or all -Infinity window gets no
 * gradient); every dx element is written, so dx needs no zero fill. Computed as: the window's max
 * (pmax from -Infinity, as the forward pool), then the first element equal to it, if the max is
 * above -Infinity; that element is the one a strict > scan keeps (an earlier equal one would have
 * stopped the later from replacing it), and == treats -0 and +0 alike as > does.
 */
function maxPoolGrad2x2Fn(): Fn {
  const f = new Fn('maxPoolGrad2x2', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [xPtr, dyPtr, dxPtr, rows, outWidth, vecs, pixBytes, rowBytes] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, ow, cv, a, delta, dyp] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const best = f.local('v128');
  const open = f.local('v128');
  const first = f.local('v128');
  const g = f.local('v128');
  const vals = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  f.get(dxPtr).get(xPtr).sub().set(delta);
  f.get(dyPtr).set(dyp);
  f.forLoop(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.forLoop(ow, () => f.i32(0), () => f.get(outWidth), 1, () => {
      f.get(xPtr).get(r).get(rowBytes).mul().i32(1).shl().add().get(ow).get(pixBytes).mul().i32(1).shl().add().set(a);
      f.forLoop(cv, () => f.i32(0), () => f.get(vecs), 1, () => {
        f.f32x4Const(-Infinity);
        vals.forEach((v, k) => windowAddress(f, a, pixBytes, rowBytes, k).v128Load().tee(v).f32x4Pmax());
        f.tee(best).f32x4Const(-Infinity).f32x4Gt().set(open);
        f.get(dyp).v128Load().set(g);
        vals.forEach((v, k) => {
          windowAddress(f, a, pixBytes, rowBytes, k).get(delta).add();
          f.get(v).get(best).f32x4Eq().get(open).v128And().tee(first).get(g).v128And().v128Store();
          if (k < 3) f.get(open).get(first).v128Andnot().set(open);
        });
        f.get(dyp).i32(16).add().set(dyp);
        f.get(a).i32(16).add().set(a);
      });
    });
  });
  return f;
}

/** Column blocks the colSum and biasAdd loops keep in registers, widest first. */
const COLUMN_BLOCKS = [8, 4, 2, 1] as const;

/**
 * colSum_{pairs}(xPtr, accPtr, rows, rowBytes): acc[c] += sum over r of x[r, c] for c < 2*pairs,
 * rows `rowBytes` apart, acc a float64 array held in registers over the rows; each column's sum
 * is its rows added in order, one float64 addition each.
 */
function colSumFn(pairs: number): Fn {
  const f = new Fn(`colSum_${pairs}`, ['i32', 'i32', 'i32', 'i32']);
  const [xPtr, accPtr, rows, rowBytes] = [0, 1, 2, 3];
  const [r, xp] = [f.local('i32'), f.local('i32')];
  const acc = Array.from({ length: pairs }, () => f.local('v128'));
  acc.forEach((a, j) => f.get(accPtr).v128Load(16 * j).set(a));
  f.get(xPtr).set(xp);
  f.forLoop(r, () => f.i32(0), () => f.get(rows), 1, () => {
    acc.forEach((a, j) => f.get(a).get(xp).v128Load64Splat(8 * j).f64x2PromoteLow().f64x2Add().set(a));
    f.get(xp).get(rowBytes).add().set(xp);
  });
  acc.forEach((a, j) => f.get(accPtr).get(a).v128Store(16 * j));
  return f;
}

/** biasAdd_{vecs}(aPtr, biasPtr, outPtr, rows, rowBytes): out[r, c] = a[r, c] + bias[c], c < 4*vecs, the bias in registers. */
function biasAddFn(vecs: number): Fn {
  const f = new Fn(`biasAdd_${vecs}`, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [aPtr, biasPtr, outPtr, rows, rowBytes] = [0, 1, 2, 3, 4];
  const [r, ap, op] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const bias = Array.from({ length: vecs }, () => f.local('v128'));
  bias.forEach((b, j) => f.get(biasPtr).v128Load(16 * j).set(b));
  f.get(aPtr).set(ap);
  f.get(outPtr).set(op);
  f.forLoop(r, () => f.i32(0), () => f.get(rows), 1, () => {
    bias.forEach((b, j) => f.get(op).get(ap).v128Load(16 * j).get(b).f32x4Add().v128Store(16 * j));
    f.get(ap).get(rowBytes).add().set(ap);
    f.get(op).get(rowBytes).add().set(op);
  });
  return f;
}

/** Runs `block(width, done)` over `total` columns in register blocks of COLUMN_BLOCKS widths. */
function inColumnBlocks(total: number, block: (width: number, done: number) => void): void {
  let done = 0;
  for (const width of COLUMN_BLOCKS) {
    for (; total - done >= width; done += width) block(width, done);
  }
}

export type SimdKernels = {
  tanh(inPtr: number, outPtr: number, n: number): void;
  tanhGrad(dyPtr: number, yPtr: number, outPtr: number, n: number): void;
  colSum(xPtr: number, accPtr: number, rows: number, pairs: number): void;
  biasAdd(aPtr: number, biasPtr: number, outPtr: number, rows: number, vecs: number): void;
  maxPool2x2(xPtr: number, outPtr: number, rows: number, outWidth: number, vecs: number, pixBytes: number, rowBytes: number): void;
  maxPoolGrad2x2(
    xPtr: number, dyPtr: number, dxPtr: number, rows: number, outWidth: number, vecs: number,
    pixBytes: number, rowBytes: number,
  ): void;
  convBpf(rows: number, cols: number): (...args: number[]) => void;
};

type ColumnBlockFn = (...args: number[]) => void;

const cache = new WeakMap<object, SimdKernels | null>();

/**
 * The SIMD kernels bound to this backend's memory, or null where they cannot run (no SIMD, or a
 * threaded build whose shared memory we do not import); callers then use their JS or stock path.
 */
export function simdKernels(backend: BackendWasm): SimdKernels | null {
  // TRAINER_WASM_SIMD=0 forces the fallbacks (used by tests; also a switch if a runtime misbehaves).
  if (wasmSimdOff()) return null;
  const key = backend.wasm as object;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const fns = (fused: boolean): Fn[] => [
    tanhFn(fused), tanhGradFn(), maxPool2x2Fn(), maxPoolGrad2x2Fn(),
    ...COLUMN_BLOCKS.map(colSumFn), ...COLUMN_BLOCKS.map(biasAddFn),
    ...CONV_BPF_BLOCKS.map(([r, c]) => convBpfFn(r, c, fused)),
  ];
  const exports = instantiateFusedOrPlain(backend, fns);
  const kernels: SimdKernels | null =
    exports === null
      ? null
      : {
          tanh: exports['tanh'] as SimdKernels['tanh'],
          tanhGrad: exports['tanhGrad'] as SimdKernels['tanhGrad'],
          maxPool2x2: exports['maxPool2x2'] as SimdKernels['maxPool2x2'],
          maxPoolGrad2x2: exports['maxPoolGrad2x2'] as SimdKernels['maxPoolGrad2x2'],
          colSum: (xPtr, accPtr, rows, pairs) =>
            inColumnBlocks(pairs, (width, done) => (exports[`colSum_${width}`] as ColumnBlockFn)(xPtr + 8 * done, accPtr + 16 * done, rows, 8 * pairs)),
          biasAdd: (aPtr, biasPtr, outPtr, rows, vecs) =>
            inColumnBlocks(vecs, (width, done) =>
              (exports[`biasAdd_${width}`] as ColumnBlockFn)(aPtr + 16 * done, biasPtr + 16 * done, outPtr + 16 * done, rows, 16 * vecs),
            ),
          convBpf: (rows, cols) => {
            const fn = exports[`convBpf_${rows}x${cols}`];
            if (fn === undefined) throw new Error(`no convBpf block ${rows}x${cols}`);
            return fn;
          },
        };
  cache.set(key, kernels);
  return kernels;
}
