// The SIMD body of our Conv2D (conv2d.ts): a direct convolution, one wasm function per filter
// shape (its channel counts are constants of the code).
import { Fn } from './wasm-asm.js';

/** A stride-1, undilated convolution's filter: [kH, kW, cIn, cOut]. */
export interface ConvFilter {
  kH: number;
  kW: number;
  cIn: number;
  cOut: number;
}

/**
 * Output pixels computed together (along a row), for cOut/4 column vectors: 8 accumulators
 * (pixels * cols), the most that measured faster (conv 16->8 with 4 pixels: 200 us a micro-batch
 * of 16; with 5: 305; 16 output channels with 2 pixels: 210, with 3: 255), plus cols weight
 * vectors and one input splat.
 */
export function pixelsPerBlock(cols: number): number {
  return Math.max(1, Math.floor(8 / cols));
}

/** Filters this code handles: every output channel in registers. */
export function directConvFits(w: ConvFilter): boolean {
  return w.cOut % 4 === 0 && w.cOut <= 16;
}

/** Parameters of the conv functions, in order. */
export const CONV_PARAMS = ['xPtr', 'wPtr', 'outPtr', 'batch', 'outHeight', 'outWidth', 'xRowBytes', 'xImgBytes'] as const;

/**
 * conv(xPtr, wPtr, outPtr, batch, outHeight, outWidth, xRowBytes, xImgBytes): out[n, oh, ow, co]
 * = the sum over (kh, kw, ci), in that order, of x[n, oh + kh, ow + kw, ci] * w[kh, kw, ci, co],
 * one float32 multiply-add at a time from +0 (fused with `fused`: relaxed SIMD, one rounding on
 * CPUs with FMA). x is already padded: images xImgBytes apart, rows xRowBytes apart, pixels
 * cIn floats apart; out is dense NHWC. Pixels go in blocks of pixelsPerBlock, then one at a time:
 * every pixel's sums are the same operations whichever way it is reached.
 */
export function convFn(w: ConvFilter, fused: boolean): Fn {
  const name = `conv_${w.kH}x${w.kW}x${w.cIn}x${w.cOut}`;
  const f = new Fn(name, CONV_PARAMS.map(() => 'i32'));
  const P = Object.fromEntries(CONV_PARAMS.map((p, i) => [p, i])) as Record<(typeof CONV_PARAMS)[number], number>;
  const cols = w.cOut / 4;
  const pixBytes = w.cIn * 4;
  const outPixBytes = w.cOut * 4;
  const block = pixelsPerBlock(cols);
  const i32 = (): number => f.local('i32');
  const [n, oh, ow, xImg, xp, xk, op, blockEnd] = [i32(), i32(), i32(), i32(), i32(), i32(), i32(), i32()] as const;
  const [kh, t, xRowK, wk] = [i32(), i32(), i32(), i32()] as const;
  // A filter row's kW*cIn steps (adjacent floats of x, weights outPixBytes apart) form one loop
  // with one step in its body. Unrolled, it ran slower the more it was unrolled (conv 3->16 of a
  // micro-batch of 16: 285 us as a loop, 400 unrolled 3 times, 495 fully unrolled).
  const walk = w.kW * w.cIn;
  const acc = Array.from({ length: block * cols }, () => f.local('v128'));
  const wv = Array.from({ length: cols }, () => f.local('v128'));
  const s = f.local('v128');

  /** The sums for `pixels` pixels starting at xp; results stored at op. */
  const pixelBlock = (pixels: number): void => {
    for (let a = 0; a < pixels * cols; a++) f.v128Zero().set(acc[a]!);
    f.get(xp).set(xRowK);
    f.get(P.wPtr).set(wk);
    f.forLoop(kh, () => f.i32(0), () => f.i32(w.kH), 1, () => {
      f.get(xRowK).set(xk);
      f.forLoop(t, () => f.i32(0), () => f.i32(walk), 1, () => {
        for (let c = 0; c < cols; c++) f.get(wk).v128Load(16 * c).set(wv[c]!);
        for (let r = 0; r < pixels; r++) {
          f.get(xk).v128Load32Splat(r * pixBytes).set(s);
          for (let c = 0; c < cols; c++) {
            const a = acc[r * cols + c]!;
            f.accumulateProduct(a, s, wv[c]!, fused);
          }
        }
        f.get(xk).i32(4).add().set(xk);
        f.get(wk).i32(outPixBytes).add().set(wk);
      });
      f.get(xRowK).get(P.xRowBytes).add().set(xRowK);
    });
    for (let r = 0; r < pixels; r++) {
      for (let c = 0; c < cols; c++) f.get(op).get(acc[r * cols + c]!).v128Store(r * outPixBytes + 16 * c);
    }
    f.get(op).i32(pixels * outPixBytes).add().set(op);
    f.get(xp).i32(pixels * pixBytes).add().set(xp);
    f.get(ow).i32(pixels).add().set(ow);
  };

  f.get(P.outPtr).set(op);
  f.get(P.outWidth).i32(block - 1).sub().set(blockEnd);
  f.forLoop(n, () => f.i32(0), () => f.get(P.batch), 1, () => {
    f.get(P.xPtr).get(n).get(P.xImgBytes).mul().add().set(xImg);
    f.forLoop(oh, () => f.i32(0), () => f.get(P.outHeight), 1, () => {
      f.get(xImg).get(oh).get(P.xRowBytes).mul().add().set(xp);
      f.i32(0).set(ow);
      // while (ow < outWidth - (block - 1)) a block; while (ow < outWidth) one pixel.
      for (const [pixels, end] of [[block, blockEnd], [1, P.outWidth]] as const) {
        f.block(() => {
          f.loop(() => {
            f.get(ow).get(end).geS().brIf(1);
            pixelBlock(pixels);
            f.br(0);
          });
        });
      }
    });
  });
  return f;
}

/**
 * padRows(src, dst, images, rows, rowBytes, dstRowBytes, dstImgBytes): copies `images` x `rows`
 * rows of rowBytes (a multiple of 4) from a dense src to dst, where rows are dstRowBytes apart
 * and images dstImgBytes apart (the interior of a padded image; the border is left as it is).
 */
export function padRowsFn(): Fn {
  const f = new Fn('padRows', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [src, dst, images, rows, rowBytes, dstRowBytes, dstImgBytes] = [0, 1, 2, 3, 4, 5, 6];
  const i32 = (): number => f.local('i32');
  const [img, row, b, sp, dp, vecEnd] = [i32(), i32(), i32(), i32(), i32(), i32()] as const;
  f.get(src).set(sp);
  f.get(rowBytes).i32(-16).and().set(vecEnd);
  f.forLoop(img, () => f.i32(0), () => f.get(images), 1, () => {
    f.forLoop(row, () => f.i32(0), () => f.get(rows), 1, () => {
      f.get(dst).get(img).get(dstImgBytes).mul().add().get(row).get(dstRowBytes).mul().add().set(dp);
      f.forLoop(b, () => f.i32(0), () => f.get(vecEnd), 16, () => {
        f.get(dp).get(b).add().get(sp).get(b).add().v128Load().v128Store();
      });
      f.forLoop(b, () => f.get(vecEnd), () => f.get(rowBytes), 4, () => {
        f.get(dp).get(b).add().get(sp).get(b).add().f32Load().f32Store();
      });
      f.get(sp).get(rowBytes).add().set(sp);
    });
  });
  return f;
}
