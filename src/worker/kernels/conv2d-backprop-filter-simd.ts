// The SIMD inner kernel of Conv2DBackpropFilter, a family of register blockings emitted with
// wasm-asm.ts and instantiated with the other SIMD kernels in simd-module.ts.
import { Fn, HIGH_HALF } from './wasm-asm.js';

/** Parameters of the conv-filter-gradient block functions, in order. */
export const CONV_BPF_PARAMS = [
  'xPtr', 'dyPtr', 'accPtr', 'tblPtr', 'batch', 'inHeight', 'outHeight', 'filterHeight',
  'filterWidth', 'strideHeight', 'padTop', 'xImgBytes', 'xRowBytes', 'xColBytes',
  'dyRowBytes', 'dyPixBytes', 'accRowBytes', 'accKwBytes', 'accKhBytes',
] as const;

/**
 * convBpf_{rows}x{cols}: adds to acc[kh,kw,ci0+r,co0+4c..] (r < rows, c < cols) the sums over
 * (n,oh,ow) of x[n,ih,iw,ci0+r] * dy[n,oh,ow,co0+4c..]. The caller offsets the pointers by ci0/co0.
 * tbl holds per kw: first ow, end ow, byte offset of x at the first ow inside an x row.
 * The rows*cols accumulators live in registers over one output row, then are added to acc, a
 * float64 array [kh, kw, ci, co] (so the *Bytes strides of acc count 8 bytes per element).
 * With `fused`, each step is relaxed SIMD's multiply-add (one rounding on CPUs with FMA).
 */
export function convBpfFn(rows: number, cols: number, fused = false): Fn {
  const f = new Fn(`convBpf_${rows}x${cols}`, CONV_BPF_PARAMS.map(() => 'i32'));
  const P = Object.fromEntries(CONV_BPF_PARAMS.map((p, i) => [p, i])) as Record<
    (typeof CONV_BPF_PARAMS)[number],
    number
  >;
  const i32 = (): number => f.local('i32');
  const [n, oh, kh, kw, ih, xImg, xRow, dyRow, xp, dp, cnt, tb, accK] = [
    i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32(),
  ] as const;
  const acc = Array.from({ length: rows * cols }, () => f.local('v128'));
  const dyv = Array.from({ length: cols }, () => f.local('v128'));
  const xs = f.local('v128');
  f.get(P.dyPtr).set(dyRow);
  f.forLoop(n, () => f.i32(0), () => f.get(P.batch), 1, () => {
    f.get(P.xPtr).get(n).get(P.xImgBytes).mul().add().set(xImg);
    f.forLoop(oh, () => f.i32(0), () => f.get(P.outHeight), 1, () => {
      f.forLoop(kh, () => f.i32(0), () => f.get(P.filterHeight), 1, () => {
        f.get(oh).get(P.strideHeight).mul().get(P.padTop).sub().get(kh).add().tee(ih);
        // Unsigned compare: rows above the image (ih < 0) are skipped too.
        f.get(P.inHeight).ltU().ifThen(() => {
        f.get(xImg).get(ih).get(P.xRowBytes).mul().add().set(xRow);
        f.get(P.accPtr).get(kh).get(P.accKhBytes).mul().add().set(accK);
        f.get(P.tblPtr).set(tb);
        f.forLoop(kw, () => f.i32(0), () => f.get(P.filterWidth), 1, () => {
          for (const a of acc) f.v128Zero().set(a);
          f.get(xRow).get(tb).i32Load(8).add().set(xp);
          f.get(dyRow).get(tb).i32Load(0).get(P.dyPixBytes).mul().add().set(dp);
          f.get(tb).i32Load(4).get(tb).i32Load(0).sub().set(cnt);
          f.block(() => {
            f.loop(() => {
              f.get(cnt).i32(1).ltS().brIf(1);
              for (let c = 0; c < cols; c++) f.get(dp).v128Load(16 * c).set(dyv[c]!);
              for (let r = 0; r < rows; r++) {
                f.get(xp).v128Load32Splat(4 * r).set(xs);
                for (let c = 0; c < cols; c++) {
                  const a = acc[r * cols + c]!;
                  f.accumulateProduct(a, xs, dyv[c]!, fused);
                }
              }
              f.get(xp).get(P.xColBytes).add().set(xp);
              f.get(dp).get(P.dyPixBytes).add().set(dp);
              f.get(cnt).i32(1).sub().set(cnt);
              f.br(0);
            });
          });
          // acc[kh,kw,r,c] += register accumulators, in float64: the float32 partial sums cover
          // one output row, so the result is as accurate as summing in float64 throughout.
          f.get(accK).get(kw).get(P.accKwBytes).mul().add().set(dp);
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              const a = acc[r * cols + c]!;
              f.get(dp).get(dp).v128Load(32 * c).get(a).f64x2PromoteLow().f64x2Add().v128Store(32 * c);
              f.get(dp).get(dp).v128Load(32 * c + 16).get(a).get(a).i8x16Shuffle(HIGH_HALF).f64x2PromoteLow().f64x2Add().v128Store(32 * c + 16);
            }
            f.get(dp).get(P.accRowBytes).add().set(dp);
          }
          f.get(tb).i32(12).add().set(tb);
        });
        });
      });
      f.get(dyRow).get(P.dyRowBytes).add().set(dyRow);
    });
  });
  return f;
}

/** Register blockings generated for convBpf: rows*cols accumulators plus cols dy vectors. */
export const CONV_BPF_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [1, 1], [2, 1], [3, 1], [4, 1], [6, 1],
  [1, 2], [2, 2], [3, 2], [4, 2],
  [1, 3], [2, 3], [3, 3],
  [1, 4], [2, 4],
];

