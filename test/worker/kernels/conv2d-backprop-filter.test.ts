import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { wasmKind } from '../../../src/worker/backend.js';
import { bitIdentical, fmaf, randomValues, relativeError, runOn, useBackend } from './reference.js';

type Pad = 'same' | 'valid' | number | tf.ExplicitPadding;
type Case = {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
};

// outChannels % 4 == 0 takes the SIMD path (with every register blocking: 1 to 5 vectors of
// output channels, input channels that leave a remainder); the others take the JS path.
const CASES: Case[] = [
  { name: 'first model conv (3->16, same)', x: [3, 32, 32, 3], filter: [3, 3, 3, 16], strides: 1, pad: 'same' },
  { name: 'second model conv (16->8, same)', x: [3, 16, 16, 16], filter: [3, 3, 16, 8], strides: 1, pad: 'same' },
  { name: 'valid, stride 1, 6 output channels (JS path)', x: [2, 10, 10, 4], filter: [3, 3, 4, 6], strides: 1, pad: 'valid' },
  { name: 'same, stride 2, 20 output channels', x: [2, 11, 12, 5], filter: [3, 3, 5, 20], strides: 2, pad: 'same' },
  { name: 'valid, stride 2, 12 output channels', x: [2, 11, 12, 7], filter: [3, 3, 7, 12], strides: 2, pad: 'valid' },
  { name: 'non-square image and filter', x: [2, 9, 14, 5], filter: [2, 4, 5, 8], strides: [1, 2], pad: 'same' },
  { name: 'non-square, 7 output channels (JS path)', x: [2, 9, 14, 5], filter: [2, 4, 5, 7], strides: [2, 1], pad: 'same' },
  { name: 'numeric pad', x: [2, 8, 8, 2], filter: [3, 3, 2, 4], strides: 1, pad: 1 },
  {
    name: 'explicit pad',
    x: [2, 8, 7, 6],
    filter: [3, 2, 6, 4],
    strides: 2,
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]],
  },
];

function filterGrad(c: Case, seed: number): tf.Tensor {
  const convInfo = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
  const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), seed), c.x);
  const dy = tf.tensor(randomValues(tf.util.sizeFromShape(convInfo.outShape), seed + 1), convInfo.outShape);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
  const out = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as unknown as tf.NamedAttrMap);
  x.dispose();
  dy.dispose();
  return out as tf.Tensor;
}

/**
 * The SIMD path's sums: for each filter element, each output row's products summed in float32
 * over the row (one multiply-add at a time from +0, fused or not), the rows' sums added in float64
 * in order of image and row, rounded to float32 at the end.
 */
function referenceFilterGrad(c: Case, seed: number, fused: boolean): Float32Array {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
  const x = randomValues(tf.util.sizeFromShape(c.x), seed);
  const dy = randomValues(tf.util.sizeFromShape(info.outShape), seed + 1);
  const [batch, inH, inW, cIn] = c.x;
  const [kH, kW, , cOut] = c.filter;
  const out = new Float32Array(tf.util.sizeFromShape(c.filter));
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      for (let ci = 0; ci < cIn; ci++) {
        for (let co = 0; co < cOut; co++) {
          let total = 0;
          for (let n = 0; n < batch; n++) {
            for (let oh = 0; oh < info.outHeight; oh++) {
              const ih = oh * info.strideHeight - info.padInfo.top + kh;
              if (ih < 0 || ih >= inH) continue;
              let row = 0;
              for (let ow = 0; ow < info.outWidth; ow++) {
                const iw = ow * info.strideWidth - info.padInfo.left + kw;
                if (iw < 0 || iw >= inW) continue;
                const xv = x[((n * inH + ih) * inW + iw) * cIn + ci]!;
                const g = dy[((n * info.outHeight + oh) * info.outWidth + ow) * cOut + co]!;
                row = fused ? fmaf(xv, g, row) : Math.fround(row + Math.fround(xv * g));
              }
              total += row;
            }
          }
          out[((kh * kW + kw) * cIn + ci) * cOut + co] = total;
        }
      }
    }
  }
  return out;
}

describe('Conv2DBackpropFilter on wasm', () => {
  it("sums in float32 along each output row, rows in float64, fused where the backend's kind says so: bit for bit", async () => {
    for (const c of CASES.filter((k) => k.filter[3] % 4 === 0)) {
      const actual = await runOn('wasm', () => filterGrad(c, 5));
      const fused = wasmKind() === 'wasm';
      assert.ok(bitIdentical(actual, referenceFilterGrad(c, 5, fused)), `${c.name}, ${fused ? 'fused' : 'plain'}`);
      assert.ok(!bitIdentical(actual, referenceFilterGrad(c, 5, !fused)), `${c.name}: the other rounding differs somewhere`);
    }
  });

  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => filterGrad(c, 7));
      const actual = await runOn('wasm', () => filterGrad(c, 7));
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('gives bit-identical results when run again', async () => {
    const c = CASES[0]!;
    const first = await runOn('wasm', () => filterGrad(c, 11));
    const other = await runOn('wasm', () => filterGrad(CASES[1]!, 3));
    const second = await runOn('wasm', () => filterGrad(c, 11));
    assert.ok(other.length > 0);
    assert.ok(bitIdentical(first, second));
  });

  it('lets tf.grads differentiate conv2d with respect to its filter', async () => {
    await useBackend('wasm');
    const x = tf.tensor(randomValues(2 * 6 * 6 * 3, 5), [2, 6, 6, 3]) as tf.Tensor4D;
    const w = tf.tensor(randomValues(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]) as tf.Tensor4D;
    const [dw] = tf.grads((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same').square().sum())([w]);
    assert.deepEqual(dw?.shape, [3, 3, 3, 4]);
    tf.dispose([x, w, dw]);
  });
});
