// Conv2D for the wasm backend: a direct SIMD convolution (conv2d-simd.ts) for stride-1,
// undilated NHWC float32 convolutions of up to 16 output channels (the model's two, and the
// input gradient, which conv2d-backprop-input.ts runs as a convolution). The stock kernel is
// XNNPACK's, which on these few channels ran at 22-29 GFLOP/s on one core (conv1's 16x32x32x3
// input: 0.64 ms a micro-batch of 16); every output here is its filter window summed in one fixed
// order, one multiply-add at a time, with every offset a constant of a function generated for the
// filter's shape. Other convolutions go to the stock kernel.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convFn, directConvFits, padRowsFn, type ConvFilter } from './conv2d-simd.js';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, emscripten, heapOffset, wasmSimdOff, type KernelArgs } from './wasm-heap.js';
import { instantiateFusedOrPlain, type WasmFunction } from './wasm-instance.js';

type Conv2DAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

type ConvFunctions = { conv: WasmFunction; padRows: WasmFunction };

/** Per backend instance: the functions for each filter shape (null where they cannot run). */
const modules = new WeakMap<object, Map<string, ConvFunctions | null>>();

function convFunctions(backend: BackendWasm, w: ConvFilter): ConvFunctions | null {
  let byShape = modules.get(backend.wasm as object);
  if (byShape === undefined) {
    byShape = new Map();
    modules.set(backend.wasm as object, byShape);
  }
  const key = `${w.kH}x${w.kW}x${w.cIn}x${w.cOut}`;
  const hit = byShape.get(key);
  if (hit !== undefined) return hit;
  const exports = instantiateFusedOrPlain(backend, (fused) => [convFn(w, fused), padRowsFn()]);
  const fns = exports === null ? null : { conv: exports[`conv_${key}`]!, padRows: exports['padRows']! };
  byShape.set(key, fns);
  return fns;
}

/**
 * Padded copies of inputs, kept per backend and geometry: their borders are zeroed once, and each
 * call writes only the interior. The oldest is freed past PADDED_KEPT geometries. Only buffers of
 * up to PADDED_KEPT_BYTES are kept (a training micro-batch's: 0.2-0.4 MB for the model's layers);
 * larger ones (evaluation chunks of 500 images: 7-10 MB) are made, zeroed and freed by each call,
 * which kept, had raised a run's peak RSS by about 130 MB.
 */
const padded = new WeakMap<object, Map<string, number>>();
const PADDED_KEPT = 8;
const PADDED_KEPT_BYTES = 1 << 20;

function paddedBuffer(backend: BackendWasm, key: string, bytes: number): number {
  let buffers = padded.get(backend.wasm as object);
  if (buffers === undefined) {
    buffers = new Map();
    padded.set(backend.wasm as object, buffers);
  }
  const heap = emscripten(backend);
  const hit = buffers.get(key);
  if (hit !== undefined) {
    // Most recently used last.
    buffers.delete(key);
    buffers.set(key, hit);
    return hit;
  }
  if (buffers.size >= PADDED_KEPT) {
    const [oldest, ptr] = buffers.entries().next().value as [string, number];
    heap._free(ptr);
    buffers.delete(oldest);
  }
  const ptr = heap._malloc(bytes) >>> 0;
  heap.HEAPU8.fill(0, ptr, ptr + bytes);
  buffers.set(key, ptr);
  return ptr;
}

function conv2dKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DAttrs;
  const stock = (): tf.TensorInfo => runStockKernel(tf.Conv2D, args as unknown as Parameters<tf.KernelFunc>[0]);
  if (wasmSimdOff() || attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) {
    return stock();
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const w: ConvFilter = { kH: info.filterHeight, kW: info.filterWidth, cIn: inChannels, cOut: outChannels };
  const { top, left } = info.padInfo;
  const bottom = outHeight + w.kH - 1 - inHeight - top;
  const right = outWidth + w.kW - 1 - inWidth - left;
  const plain = info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
  if (!plain || Math.min(top, left, bottom, right) < 0 || !directConvFits(w)) return stock();
  const fns = convFunctions(backend, w);
  if (fns === null) return stock();

  const rowBytes = (inWidth + left + right) * inChannels * 4;
  const imgBytes = (inHeight + top + bottom) * rowBytes;
  const bytes = batchSize * imgBytes;
  const pads = top + left + bottom + right > 0;
  const heap = emscripten(backend);
  const kept = bytes <= PADDED_KEPT_BYTES;
  let xPtr = heapOffset(backend, x);
  let own = 0;
  if (pads) {
    const key = `${batchSize}x${inHeight}x${inWidth}x${inChannels} ${top},${left},${bottom},${right}`;
    const dst = kept ? paddedBuffer(backend, key, bytes) : (own = heap._malloc(bytes) >>> 0);
    if (!kept) heap.HEAPU8.fill(0, dst, dst + bytes);
    fns.padRows(xPtr, dst + top * rowBytes + left * inChannels * 4, batchSize, inHeight, inWidth * inChannels * 4, rowBytes, imgBytes);
    xPtr = dst;
  }
  try {
    const out = backend.makeOutput([batchSize, outHeight, outWidth, outChannels], 'float32');
    fns.conv(xPtr, heapOffset(backend, filter), heapOffset(backend, out), batchSize, outHeight, outWidth, rowBytes, imgBytes);
    return out;
  } finally {
    if (own !== 0) heap._free(own);
  }
}

export const conv2dConfig: tf.KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: WASM_BACKEND,
  kernelFunc: conv2dKernel as unknown as tf.KernelFunc,
};
