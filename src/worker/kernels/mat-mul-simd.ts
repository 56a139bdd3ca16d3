// Matrix products for BatchMatMul on the wasm backend, emitted with wasm-asm.ts: a register-blocked
// SIMD kernel (rows x 4·cols outputs held in registers over the whole inner dimension), scalar code
// for the last columns, and drivers that walk the blocks. Every output element is
//   c[i][j] = (((0 + a[i][0]·b[0][j]) + a[i][1]·b[1][j]) + ...)  in float32, k in order,
// whichever block computes it, so results do not depend on the blocking (the tests compare with a
// plain JavaScript loop, bit for bit). With `fused`, every step is relaxed SIMD's multiply-add,
// one rounding where the CPU has FMA (every x86-64 since 2013, every arm64): 30-50 % faster on
// large products, and still the same bits whatever the blocking (the last columns too: the scalar
// code does its multiply-adds in one lane of a vector, as wasm has no scalar fused multiply-add).
import { Fn } from './wasm-asm.js';

/**
 * Parameters of a block kernel: A(r, k) is at aPtr + r·aRowBytes + k·aKBytes; B(k, j) at
 * bPtr + k·bRowBytes + 4j; C(r, j) at cPtr + r·cRowBytes + 4j. With `accumulate` (non-zero) the
 * sums start from C's values instead of 0: a product over k in several passes gives the bits of
 * one pass, as the running sums are float32 in registers as much as in memory.
 */
const BLOCK_PARAMS = ['aPtr', 'bPtr', 'cPtr', 'kCount', 'aRowBytes', 'aKBytes', 'bRowBytes', 'cRowBytes', 'accumulate'] as const;

/** Rows of the widest block: 6 x 8 outputs in 12 vector registers, with 2 for B and one for A. */
export const MAX_ROWS = 6;

/**
 * mk_{rows}x{cols}: C(r, 4c..4c+3) (+)= sum over k of A(r, k)·B(k, 4c..4c+3), r < rows, c < cols.
 * `packed`: A's rows are adjacent floats (aRowBytes is 4, as in x^T or an A transposed first), so
 * one pointer with constant offsets reads a column of A: 2 scalar adds a step of k instead of
 * rows + 1, which is what bounds the general kernel (it has 12 multiply-adds a step).
 */
function blockFn(rows: number, cols: number, fused: boolean, packed: boolean): Fn {
  const f = new Fn(`mk_${rows}x${cols}${packed ? 'p' : ''}`, BLOCK_PARAMS.map(() => 'i32'));
  const [aPtr, bPtr, cPtr, kCount, aRowBytes, aKBytes, bRowBytes, cRowBytes, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ap = Array.from({ length: packed ? 1 : rows }, () => f.local('i32'));
  const [bp, k, cp] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const acc = Array.from({ length: rows * cols }, () => f.local('v128'));
  const bv = Array.from({ length: cols }, () => f.local('v128'));
  const splat = f.local('v128');
  ap.forEach((p, r) => {
    f.get(aPtr);
    if (r > 0) f.get(aRowBytes).i32(r).mul().add();
    f.set(p);
  });
  f.get(bPtr).set(bp);
  for (const a of acc) f.v128Zero().set(a);
  f.get(accumulate).ifThen(() => {
    f.get(cPtr).set(cp);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) f.get(cp).v128Load(16 * c).set(acc[r * cols + c]!);
      f.get(cp).get(cRowBytes).add().set(cp);
    }
  });
  f.forLoop(k, () => f.i32(0), () => f.get(kCount), 1, () => {
    bv.forEach((v, c) => f.get(bp).v128Load(16 * c).set(v));
    for (let r = 0; r < rows; r++) {
      if (packed) f.get(ap[0]!).v128Load32Splat(4 * r).set(splat);
      else f.get(ap[r]!).v128Load32Splat().set(splat);
      bv.forEach((v, c) => {
        const a = acc[r * cols + c]!;
        f.accumulateProduct(a, splat, v, fused);
      });
    }
    for (const p of ap) f.get(p).get(aKBytes).add().set(p);
    f.get(bp).get(bRowBytes).add().set(bp);
  });
  f.get(cPtr).set(cp);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) f.get(cp).get(acc[r * cols + c]!).v128Store(16 * c);
    f.get(cp).get(cRowBytes).add().set(cp);
  }
  return f;
}

/** mkScalar(..., rows, cols, ..., accumulate): the same sums one element at a time, for the last (fewer than 4) columns. */
function scalarFn(fused: boolean): Fn {
  const f = new Fn('mkScalar', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [aPtr, bPtr, cPtr, kCount, rows, cols, aRowBytes, aKBytes, bRowBytes, cRowBytes, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const cp = f.local('i32');
  const [r, c, k, ap, bp] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  const s = f.local('f32');
  const sv = f.local('v128');
  f.forLoop(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.forLoop(c, () => f.i32(0), () => f.get(cols), 1, () => {
      f.get(aPtr).get(r).get(aRowBytes).mul().add().set(ap);
      f.get(bPtr).get(c).i32(2).shl().add().set(bp);
      f.get(cPtr).get(r).get(cRowBytes).mul().add().get(c).i32(2).shl().add().set(cp);
      f.f32(0).set(s);
      f.get(accumulate).ifThen(() => f.get(cp).f32Load().set(s));
      if (fused) f.get(s).f32x4Splat().set(sv);
      f.forLoop(k, () => f.i32(0), () => f.get(kCount), 1, () => {
        if (fused) f.get(ap).v128Load32Splat().get(bp).v128Load32Splat().get(sv).f32x4RelaxedMadd().set(sv);
        else f.get(s).get(ap).f32Load().get(bp).f32Load().f32Mul().f32Add().set(s);
        f.get(ap).get(aKBytes).add().set(ap);
        f.get(bp).get(bRowBytes).add().set(bp);
      });
      if (fused) f.get(sv).f32x4ExtractLane(0).set(s);
      f.get(cp).get(s).f32Store();
    });
  });
  return f;
}

const DRIVER_PARAMS = ['aPtr', 'bPtr', 'cPtr', 'm', 'n', 'kCount', 'kBlock', 'aRowBytes', 'aKBytes', 'bRowBytes', 'cRowBytes', 'accumulate'] as const;

/**
 * gemm{order}(aPtr, bPtr, cPtr, m, n, kCount, kBlock, strides..., accumulate): C (+)= A·B for an m x n output,
 * kBlock rows of B at a time (a panel that stays in cache, and few enough pages for the TLB when B's
 * rows are long), each in blocks of MAX_ROWS x 8 outputs, then 4 columns, then single columns.
 * Order 'ColsOuter' walks a strip of 8 columns down all rows (the strip of the panel stays in the
 * first-level cache), 'RowsOuter' a band of rows across all columns (the band of A stays there).
 */
function driverFn(order: 'ColsOuter' | 'RowsOuter', packed: boolean, index: (rows: number, cols: number) => number, scalarIndex: number): Fn {
  const f = new Fn(`gemm${order}${packed ? 'Packed' : ''}`, DRIVER_PARAMS.map(() => 'i32'));
  const [aPtr0, bPtr0, cPtr, m, n, kCount, kBlock, aRowBytes, aKBytes, bRowBytes, cRowBytes, accumulate0] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [i, j, jEnd, k0, kc, aPtr, bPtr] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  /** The block kernel of `rows` x `cols` vectors at (i, j), over the panel's kc rows. */
  const block = (rows: number, cols: number): void => {
    f.get(aPtr).get(i).get(aRowBytes).mul().add();
    f.get(bPtr).get(j).i32(2).shl().add();
    f.get(cPtr).get(i).get(cRowBytes).mul().add().get(j).i32(2).shl().add();
    f.get(kc).get(aRowBytes).get(aKBytes).get(bRowBytes).get(cRowBytes).get(k0).get(accumulate0).add();
    f.call(index(rows, cols));
  };
  /** All rows at column j, blocks of `cols` vectors: full blocks, then the remainder's own kernel. */
  const down = (cols: number): void => {
    f.i32(0).set(i);
    f.block(() => {
      f.loop(() => {
        f.get(m).get(i).sub().i32(MAX_ROWS).ltS().brIf(1);
        block(MAX_ROWS, cols);
        f.get(i).i32(MAX_ROWS).add().set(i).br(0);
      });
    });
    for (let rows = 1; rows < MAX_ROWS; rows++) {
      f.get(m).get(i).sub().i32(rows).eq().ifThen(() => block(rows, cols));
    }
  };
  /** Row band at i (of `rows` rows) across the columns [0, jEnd) in blocks of 8, then the 4-column block if any. */
  const across = (rows: number): void => {
    f.forLoop(j, () => f.i32(0), () => f.get(jEnd), 8, () => block(rows, 2));
    f.get(n).get(jEnd).sub().i32(4).geS().ifThen(() => block(rows, 1));
  };
  f.get(n).i32(-8).and().set(jEnd);
  // k0 + accumulate (non-zero when either is) is the block kernels' `accumulate`: later panels add to C, and with
  // `accumulate` the first one too (a product whose first rows of B came in an earlier call).
  f.forLoop(k0, () => f.i32(0), () => f.get(kCount), 0, () => {
    f.get(kCount).get(k0).sub().tee(kc).get(kBlock).get(kc).get(kBlock).ltS().select().set(kc);
    f.get(aPtr0).get(k0).get(aKBytes).mul().add().set(aPtr);
    f.get(bPtr0).get(k0).get(bRowBytes).mul().add().set(bPtr);
    if (order === 'ColsOuter') {
      f.forLoop(j, () => f.i32(0), () => f.get(jEnd), 8, () => down(2));
      f.get(n).get(jEnd).sub().i32(4).geS().ifThen(() => down(1));
    } else {
      f.i32(0).set(i);
      f.block(() => {
        f.loop(() => {
          f.get(m).get(i).sub().i32(MAX_ROWS).ltS().brIf(1);
          across(MAX_ROWS);
          f.get(i).i32(MAX_ROWS).add().set(i).br(0);
        });
      });
      for (let rows = 1; rows < MAX_ROWS; rows++) f.get(m).get(i).sub().i32(rows).eq().ifThen(() => across(rows));
    }
    // The last n % 4 columns, every row.
    f.get(n).i32(3).and().ifThen(() => {
      f.get(aPtr);
      f.get(bPtr).get(n).i32(-4).and().i32(2).shl().add();
      f.get(cPtr).get(n).i32(-4).and().i32(2).shl().add();
      f.get(kc).get(m).get(n).i32(3).and().get(aRowBytes).get(aKBytes).get(bRowBytes).get(cRowBytes).get(k0).get(accumulate0).add();
      f.call(scalarIndex);
    });
    f.get(k0).get(kc).add().set(k0);
  });
  return f;
}

/** transpose(src, dst, rows, cols): dst[c][r] = src[r][c], floats. */
function transposeFn(): Fn {
  const f = new Fn('transpose', ['i32', 'i32', 'i32', 'i32']);
  const [src, dst, rows, cols] = [0, 1, 2, 3];
  const [r, c, sp, dp] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  f.get(src).set(sp);
  f.forLoop(r, () => f.i32(0), () => f.get(rows), 1, () => {
    f.get(dst).get(r).i32(2).shl().add().set(dp);
    f.forLoop(c, () => f.i32(0), () => f.get(cols), 1, () => {
      f.get(dp).get(sp).f32Load().f32Store();
      f.get(sp).i32(4).add().set(sp);
      f.get(dp).get(rows).i32(2).shl().add().set(dp);
    });
  });
  return f;
}

/** The functions of the matrix-product module, in the order assembleModule numbers them. */
export function matMulFns(fused = false): Fn[] {
  const blocks: Fn[] = [];
  const at = new Map<string, number>();
  for (const packed of [false, true]) {
    for (let rows = 1; rows <= MAX_ROWS; rows++) {
      for (const cols of [1, 2]) {
        at.set(`${rows}x${cols}${packed}`, blocks.length);
        blocks.push(blockFn(rows, cols, fused, packed));
      }
    }
  }
  const scalarIndex = blocks.length;
  const drivers = (packed: boolean): Fn[] => {
    const index = (rows: number, cols: number): number => at.get(`${rows}x${cols}${packed}`) as number;
    return [driverFn('ColsOuter', packed, index, scalarIndex), driverFn('RowsOuter', packed, index, scalarIndex)];
  };
  return [...blocks, scalarFn(fused), ...drivers(false), ...drivers(true), transposeFn()];
}

type Gemm = (
  aPtr: number,
  bPtr: number,
  cPtr: number,
  m: number,
  n: number,
  kCount: number,
  kBlock: number,
  aRowBytes: number,
  aKBytes: number,
  bRowBytes: number,
  cRowBytes: number,
  accumulate: number,
) => void;

export type MatMulKernels = {
  /** C = A·B, m x n, inner dimension kCount in panels of kBlock; strides in bytes (see BLOCK_PARAMS). */
  gemmColsOuter: Gemm;
  gemmRowsOuter: Gemm;
  /** The same where A's rows are adjacent floats (aRowBytes 4). */
  gemmColsOuterPacked: Gemm;
  gemmRowsOuterPacked: Gemm;
  transpose(src: number, dst: number, rows: number, cols: number): void;
};
