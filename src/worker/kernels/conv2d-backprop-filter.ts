// Conv2DBackpropFilter for the wasm backend, which tfjs-backend-wasm 4.22 lacks (tfjs#8474).
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { CONV_BPF_BLOCKS } from './conv2d-backprop-filter-simd.js';
import { simdKernels, type SimdKernels } from './simd-module.js';
import { WASM_BACKEND, emscripten, heapF32, heapOffset, type KernelArgs } from './wasm-heap.js';

type Conv2DBackpropFilterAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

/**
 * dW[kh,kw,ci,co] = sum over (n,oh,ow) of x[n, oh*sh+kh-top, ow*sw+kw-left, ci] * dy[n,oh,ow,co].
 * A plain JS loop over the heap: accumulation is in float64 in one fixed order, so the result is
 * deterministic and at least as accurate as the cpu backend's.
 */
export function conv2dBackpropFilterJs(
  x: Float32Array,
  dy: Float32Array,
  out: Float32Array,
  info: tf.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const rowStride = inWidth * inChannels;
  for (let n = 0; n < batchSize; n++) {
    const xBatch = n * inHeight * rowStride;
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - left;
        const dyOff = ((n * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = ih0 + kh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = iw0 + kw;
            if (iw < 0 || iw >= inWidth) continue;
            const xOff = xBatch + ih * rowStride + iw * inChannels;
            let wOff = (kh * filterWidth + kw) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++, wOff += outChannels) {
              const xv = x[xOff + ci]!;
              for (let co = 0; co < outChannels; co++) {
                acc[wOff + co]! += xv * dy[dyOff + co]!;
              }
            }
          }
        }
      }
    }
  }
  out.set(acc);
}

export function conv2dInfoForFilterGrad(
  x: tf.TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): tf.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`wasm Conv2DBackpropFilter supports only NHWC, got ${attrs.dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

/** Preferred register blocking (ci rows per block) for each count of 4-wide co vectors. */
const ROWS_FOR_COLS: Record<number, number> = { 1: 6, 2: 4, 3: 3, 4: 2 };

function largestBlock(cols: number, maxRows: number): number {
  let best = 0;
  for (const [r, c] of CONV_BPF_BLOCKS) if (c === cols && r <= maxRows && r > best) best = r;
  return best;
}

/** The SIMD path: needs outChannels % 4 == 0 (true for every conv of the model). */
function conv2dBackpropFilterSimd(
  backend: BackendWasm,
  simd: SimdKernels,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  info: tf.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const left = info.padInfo.left;
  const filterSize = filterHeight * filterWidth * inChannels * outChannels;
  const heap = emscripten(backend);
  // One block: the float64 accumulator (malloc aligns to 8), then the kw table.
  const accBase = heap._malloc(filterSize * 8 + filterWidth * 12) >>> 0;
  const tblPtr = accBase + filterSize * 8;
  try {
    new Float64Array(heap.HEAPU8.buffer, accBase, filterSize).fill(0);
    const tbl = new Int32Array(heap.HEAPU8.buffer, tblPtr, filterWidth * 3);
    for (let kw = 0; kw < filterWidth; kw++) {
      const lo = Math.max(0, Math.ceil((left - kw) / strideWidth));
      const hi = Math.max(lo, Math.min(outWidth, Math.floor((inWidth - 1 + left - kw) / strideWidth) + 1));
      tbl[kw * 3] = lo;
      tbl[kw * 3 + 1] = hi;
      tbl[kw * 3 + 2] = (lo * strideWidth - left + kw) * inChannels * 4;
    }
    const xBase = heapOffset(backend, x);
    const dyBase = heapOffset(backend, dy);
    const vecs = outChannels / 4;
    for (let c0 = 0; c0 < vecs; ) {
      const cols = Math.min(4, vecs - c0);
      for (let ci0 = 0; ci0 < inChannels; ) {
        const rows = largestBlock(cols, Math.min(ROWS_FOR_COLS[cols] ?? 1, inChannels - ci0));
        simd.convBpf(rows, cols)(
          xBase + ci0 * 4,
          dyBase + c0 * 16,
          accBase + (ci0 * outChannels + c0 * 4) * 8,
          tblPtr,
          batchSize,
          inHeight,
          outHeight,
          filterHeight,
          filterWidth,
          strideHeight,
          info.padInfo.top,
          inHeight * inWidth * inChannels * 4,
          inWidth * inChannels * 4,
          strideWidth * inChannels * 4,
          outWidth * outChannels * 4,
          outChannels * 4,
          outChannels * 8,
          inChannels * outChannels * 8,
          filterWidth * inChannels * outChannels * 8,
        );
        ci0 += rows;
      }
      c0 += cols;
    }
    heapF32(backend, out).set(new Float64Array(heap.HEAPU8.buffer, accBase, filterSize));
  } finally {
    heap._free(accBase);
  }
}


/** Part-1 kernel (JS loop only), kept as the baseline for scripts/bench-kernels.ts. */
function conv2dBackpropFilterJsKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = conv2dInfoForFilterGrad(x, attrs);
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  conv2dBackpropFilterJs(heapF32(backend, x), heapF32(backend, dy), heapF32(backend, out), info);
  return out;
}

function conv2dBackpropFilterKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = conv2dInfoForFilterGrad(x, attrs);
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const simd = simdKernels(backend);
  if (simd !== null && info.outChannels % 4 === 0 && info.dilationHeight === 1 && info.dilationWidth === 1) {
    conv2dBackpropFilterSimd(backend, simd, x, dy, out, info);
    return out;
  }
  conv2dBackpropFilterJs(heapF32(backend, x), heapF32(backend, dy), heapF32(backend, out), info);
  return out;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM_BACKEND,
  kernelFunc: conv2dBackpropFilterKernel as unknown as tf.KernelFunc,
};

export const conv2dBackpropFilterJsConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: WASM_BACKEND,
  kernelFunc: conv2dBackpropFilterJsKernel as unknown as tf.KernelFunc,
};
