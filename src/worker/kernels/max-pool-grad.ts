// MaxPoolGrad for the wasm backend. The stock kernel takes ~20 ms for the model's first pool at
// batch 64; the 2x2 stride-2 SIMD path here takes well under 1 ms, and a JS loop covers the rest.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { simdKernels } from './simd-module.js';
import { WASM_BACKEND, heapF32, heapOffset, type KernelArgs } from './wasm-heap.js';

/** The attributes MaxPool and MaxPoolGrad share. */
export type PoolAttrs = {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** The pool's geometry for an NHWC input of `shape`. */
export function poolInfo(shape: readonly number[], attrs: PoolAttrs): tf.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

/**
 * Generic path: each dy goes to the first maximum (row-major, strict >, from -Infinity) of its
 * window, summed where windows overlap, in a fixed order.
 */
export function maxPoolGradJs(x: Float32Array, dy: Float32Array, dx: Float32Array, info: tf.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { effectiveFilterHeight, effectiveFilterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  dx.fill(0);
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyOff = ((n * outHeight + oh) * outWidth + ow) * channels;
        for (let c = 0; c < channels; c++) {
          let best = -Infinity;
          let at = -1;
          for (let wr = 0; wr < effectiveFilterHeight; wr += dilationHeight) {
            const ih = oh * strideHeight - top + wr;
            if (ih < 0 || ih >= inHeight) continue;
            for (let wc = 0; wc < effectiveFilterWidth; wc += dilationWidth) {
              const iw = ow * strideWidth - left + wc;
              if (iw < 0 || iw >= inWidth) continue;
              const idx = ((n * inHeight + ih) * inWidth + iw) * channels + c;
              const v = x[idx]!;
              if (v > best) {
                best = v;
                at = idx;
              }
            }
          }
          if (at >= 0) dx[at]! += dy[dyOff + c]!;
        }
      }
    }
  }
}

/** Pools that the 2x2 SIMD kernels handle: 2x2 windows, stride 2, tiling the input exactly. */
export function tiles2x2(info: tf.Conv2DInfo): boolean {
  return (
    info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 &&
    info.inHeight === 2 * info.outHeight && info.inWidth === 2 * info.outWidth && info.inChannels % 4 === 0
  );
}

function maxPoolGradKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = poolInfo(input.shape, args.attrs as unknown as PoolAttrs);
  const dx = backend.makeOutput(input.shape, 'float32');
  const simd = simdKernels(backend);
  if (simd !== null && tiles2x2(info)) {
    const pixBytes = info.inChannels * 4;
    simd.maxPoolGrad2x2(
      heapOffset(backend, input),
      heapOffset(backend, dy),
      heapOffset(backend, dx),
      info.batchSize * info.outHeight,
      info.outWidth,
      info.inChannels / 4,
      pixBytes,
      info.inWidth * pixBytes,
    );
    return dx;
  }
  maxPoolGradJs(heapF32(backend, input), heapF32(backend, dy), heapF32(backend, dx), info);
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: WASM_BACKEND,
  kernelFunc: maxPoolGradKernel as unknown as tf.KernelFunc,
};
