// Conv2DBackpropInput for the wasm backend. For stride 1 the input gradient is a plain
// convolution of dy with the filter rotated 180 degrees and its channel axes swapped, which the
// registered Conv2D (ours, conv2d.ts, or XNNPACK's where ours does not apply) runs several times
// faster than the stock backprop kernel's loops. Other strides go to the stock kernel.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, heapF32, type KernelArgs } from './wasm-heap.js';

type Conv2DBackpropInputAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
};


/** rot[kh,kw,co,ci] = w[KH-1-kh, KW-1-kw, ci, co]. */
export function rotateFilter(w: Float32Array, rot: Float32Array, kH: number, kW: number, cIn: number, cOut: number): void {
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const src = ((kH - 1 - kh) * kW + (kW - 1 - kw)) * cIn * cOut;
      const dst = (kh * kW + kw) * cOut * cIn;
      for (let ci = 0; ci < cIn; ci++) {
        for (let co = 0; co < cOut; co++) rot[dst + co * cIn + ci] = w[src + ci * cOut + co]!;
      }
    }
  }
}

function conv2dBackpropInputKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const stock = (): tf.TensorInfo => runStockKernel(tf.Conv2DBackpropInput, args as unknown as Parameters<tf.KernelFunc>[0]);
  const conv = tf.getKernel(tf.Conv2D, WASM_BACKEND);
  if (attrs.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32' || conv === undefined) {
    return stock();
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: kH, filterWidth: kW, inChannels, outChannels } = info;
  const top = kH - 1 - info.padInfo.top;
  const left = kW - 1 - info.padInfo.left;
  const bottom = info.inHeight - info.outHeight + kH - 1 - top;
  const right = info.inWidth - info.outWidth + kW - 1 - left;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || Math.min(top, left, bottom, right) < 0) return stock();

  const rot = backend.makeOutput([kH, kW, outChannels, inChannels], 'float32');
  try {
    rotateFilter(heapF32(backend, filter), heapF32(backend, rot), kH, kW, inChannels, outChannels);
    const pad: tf.ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
    const convAttrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] };
    return conv.kernelFunc({
      inputs: { x: dy, filter: rot },
      backend: backend,
      attrs: convAttrs as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
  } finally {
    backend.disposeData(rot.dataId);
  }
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: WASM_BACKEND,
  kernelFunc: conv2dBackpropInputKernel as unknown as tf.KernelFunc,
};
