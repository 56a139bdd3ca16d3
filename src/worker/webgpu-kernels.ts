/**
 * trainer's own WebGPU kernels, registered over tfjs-backend-webgpu's where its are the bottleneck
 * on a real GPU.
 *
 * Conv2DBackpropFilter. tfjs's program (Conv2DDerFilterProgram) gives each filter weight one GPU
 * thread, which sums over every image and position of the micro-batch alone: 432 threads for the
 * `net` model's first convolution, each looping over batch × 32 × 32 products. An H200 then ran a
 * step of 1,024 images in 540 ms (2026-12-04), slower than one CPU core. Here the sum is split by
 * images: one thread per (filter weight, group of images) writes a partial sum, and a second
 * program adds the partial sums of each weight in group order. No atomics (their float sums depend
 * on scheduling): the same input gives the same bits every time, whatever the number of workers,
 * since a micro-batch's gradient is computed in one place.
 */
import * as tf from './tf.js';

interface ProgramLike {
  variableNames: string[];
  uniforms?: string;
  workgroupSize: [number, number, number];
  size: boolean;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;
  getUserCode(): string;
}

interface BackendLike {
  runWebGPUProgram(p: ProgramLike, inputs: tf.TensorInfo[], dtype: 'float32', uniforms?: { type: 'int32'; data: number[] }[]): tf.TensorInfo;
  disposeData(id: object): void;
}

const WORKGROUP = 64;
/**
 * The most partial sums one gradient writes: 16 MB, in 62,500 workgroups of 64, under WebGPU's
 * 65,535 in a dispatch's one dimension. Below it, each group is one image; a filter of more
 * weights than this (no model of ours) goes to tfjs's kernel.
 */
export const MAX_PARTIALS = 4_000_000;

function flatProgram(outputShape: number[], fields: Omit<ProgramLike, 'workgroupSize' | 'size' | 'outputShape' | 'dispatchLayout' | 'dispatch'>): ProgramLike {
  const n = outputShape.reduce((a, b) => a * b, 1);
  return {
    ...fields,
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    outputShape,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(n / WORKGROUP), 1, 1],
  };
}

/** Images per partial sum for a batch of `batch` and a filter of `weights` weights. */
export function imagesPerGroup(batch: number, weights: number, maxPartials = MAX_PARTIALS): number {
  return Math.max(1, Math.ceil((batch * weights) / maxPartials));
}

/** Partial sums [groups, filter weights]: thread (g, w) sums weight w's products over images [g·k, g·k + k). */
function partialProgram(info: tf.Conv2DInfo, perGroup: number, groups: number): ProgramLike {
  const [fh, fw, ci, co] = info.filterShape as [number, number, number, number];
  const weights = fh * fw * ci * co;
  return flatProgram([groups, weights], {
    variableNames: ['x', 'dy'],
    uniforms: 'pads : vec2<i32>, strides : vec2<i32>, batchSize : i32, outHeight : i32, outWidth : i32, inHeight : i32, inWidth : i32,',
    shaderKey: `trainerConv2DDerFilterPartial_${fh}_${fw}_${ci}_${co}_${perGroup}`,
    getUserCode: () => `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let g = index / ${weights};
        let w = index - g * ${weights};
        let wR = w / ${fw * ci * co};
        let wC = (w / ${ci * co}) % ${fw};
        let d1 = (w / ${co}) % ${ci};
        let d2 = w % ${co};
        let b0 = g * ${perGroup};
        let b1 = min(b0 + ${perGroup}, uniforms.batchSize);
        var dotProd = 0.0;
        for (var b = b0; b < b1; b = b + 1) {
          for (var yR = 0; yR < uniforms.outHeight; yR = yR + 1) {
            let xR = wR + yR * uniforms.strides[0] - uniforms.pads[0];
            if (xR < 0 || xR >= uniforms.inHeight) {
              continue;
            }
            for (var yC = 0; yC < uniforms.outWidth; yC = yC + 1) {
              let xC = wC + yC * uniforms.strides[1] - uniforms.pads[1];
              if (xC < 0 || xC >= uniforms.inWidth) {
                continue;
              }
              dotProd = dotProd + getX(b, xR, xC, d1) * getDy(b, yR, yC, d2);
            }
          }
        }
        setOutputAtIndex(index, dotProd);
      }
    }`,
  });
}

/** The filter gradient: each weight's partial sums added in group order. */
function sumProgram(filterShape: number[], groups: number): ProgramLike {
  return flatProgram(filterShape, {
    variableNames: ['partial'],
    shaderKey: `trainerConv2DDerFilterSum_${groups}`,
    getUserCode: () => `
    fn main(index : i32) {
      if (index < uniforms.size) {
        var sum = 0.0;
        for (var g = 0; g < ${groups}; g = g + 1) {
          sum = sum + getPartial(g, index);
        }
        setOutputAtIndex(index, sum);
      }
    }`,
  });
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function conv2DBackpropFilterByImages(stock: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[], maxPartials: number) {
  return (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = args.attrs as unknown as { strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.ExplicitPadding; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
    const weights = a.filterShape.reduce((p, d) => p * d, 1);
    if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || weights > maxPartials) return stock(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const perGroup = imagesPerGroup(info.batchSize, weights, maxPartials);
    const groups = Math.ceil(info.batchSize / perGroup);
    const backend = args.backend as BackendLike;
    const uniforms: { type: 'int32'; data: number[] }[] = [
      { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
      { type: 'int32', data: [info.strideHeight, info.strideWidth] },
      { type: 'int32', data: [info.batchSize] },
      { type: 'int32', data: [info.outHeight] },
      { type: 'int32', data: [info.outWidth] },
      { type: 'int32', data: [info.inHeight] },
      { type: 'int32', data: [info.inWidth] },
    ];
    const partial = backend.runWebGPUProgram(partialProgram(info, perGroup, groups), [x, dy], 'float32', uniforms);
    try {
      return backend.runWebGPUProgram(sumProgram(a.filterShape, groups), [partial], 'float32');
    } finally {
      backend.disposeData(partial.dataId);
    }
  };
}

let stockConfig: tf.KernelConfig | null = null;
let ownMaxPartials = MAX_PARTIALS;

/**
 * Registers trainer's webgpu kernels over tfjs's (after tfjs-backend-webgpu is loaded); `false`
 * puts tfjs's back (benchmarks compare the two). Kernels are registered per process, for every
 * webgpu backend instance. `maxPartials` (tests): fewer partial sums, so that groups hold several images.
 */
export function useOwnWebGpuKernels(own = true, maxPartials = MAX_PARTIALS): void {
  const name = tf.Conv2DBackpropFilter;
  const current = tf.getKernel(name, 'webgpu');
  if (current === undefined) throw new Error('tfjs-backend-webgpu is not loaded');
  stockConfig ??= current;
  if (own === (current !== stockConfig) && maxPartials === ownMaxPartials) return;
  ownMaxPartials = maxPartials;
  tf.unregisterKernel(name, 'webgpu');
  const stock = stockConfig.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];
  tf.registerKernel(own ? { kernelName: name, backendName: 'webgpu', kernelFunc: conv2DBackpropFilterByImages(stock, maxPartials) as unknown as tf.KernelFunc } : stockConfig);
}
