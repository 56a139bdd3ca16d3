import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { wasmKind } from '../../../src/worker/backend.js';
import { bitIdentical, fmaf, randomValues, relativeError, runOn } from './reference.js';

type Case = {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides?: number;
  dilations?: number;
  pad: 'same' | 'valid' | number | tf.ExplicitPadding;
  /** Ours computes it (else XNNPACK's stock kernel). */
  ours: boolean;
};

const CASES: Case[] = [
  { name: 'first model conv (3->16, same)', x: [2, 32, 32, 3], filter: [3, 3, 3, 16], pad: 'same', ours: true },
  { name: 'second model conv (16->8, same)', x: [2, 16, 16, 16], filter: [3, 3, 16, 8], pad: 'same', ours: true },
  { name: 'input gradient of the second (8->16, explicit pad)', x: [2, 16, 16, 8], filter: [3, 3, 8, 16], pad: [[0, 0], [1, 1], [1, 1], [0, 0]], ours: true },
  { name: 'valid, 12 channels out, a row that ends mid-block', x: [2, 9, 11, 5], filter: [3, 3, 5, 12], pad: 'valid', ours: true },
  { name: 'non-square filter, same, 4 out', x: [3, 7, 13, 2], filter: [2, 4, 2, 4], pad: 'same', ours: true },
  { name: 'uneven explicit pad, 1x1 filter', x: [1, 5, 6, 7], filter: [1, 1, 7, 8], pad: [[0, 0], [2, 0], [0, 3], [0, 0]], ours: true },
  { name: '10 channels out (stock)', x: [2, 8, 8, 3], filter: [3, 3, 3, 10], pad: 'same', ours: false },
  { name: 'stride 2 (stock)', x: [2, 9, 9, 3], filter: [3, 3, 3, 8], strides: 2, pad: 'same', ours: false },
  { name: 'dilation 2 (stock)', x: [2, 9, 9, 3], filter: [3, 3, 3, 8], dilations: 2, pad: 'valid', ours: false },
];

function values(c: Case, seed: number): { x: Float32Array; w: Float32Array } {
  return { x: randomValues(tf.util.sizeFromShape(c.x), seed), w: randomValues(tf.util.sizeFromShape(c.filter), seed + 1) };
}

function conv(c: Case, v: { x: Float32Array; w: Float32Array }): () => tf.Tensor {
  return () =>
    tf.tidy(() =>
      tf.conv2d(tf.tensor(v.x, c.x) as tf.Tensor4D, tf.tensor(v.w, c.filter) as tf.Tensor4D, c.strides ?? 1, c.pad, 'NHWC', c.dilations ?? 1),
    );
}

/** The sum ours computes: over (kh, kw, ci) in order from +0, zeros outside the image, one multiply-add at a time. */
function reference(c: Case, v: { x: Float32Array; w: Float32Array }, fused: boolean): Float32Array {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, 1, 1, c.pad);
  const [batch, inH, inW, cIn] = c.x;
  const [kH, kW, , cOut] = c.filter;
  const out = new Float32Array(tf.util.sizeFromShape(info.outShape));
  let o = 0;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < info.outHeight; oh++) {
      for (let ow = 0; ow < info.outWidth; ow++) {
        for (let co = 0; co < cOut; co++) {
          let s = 0;
          for (let kh = 0; kh < kH; kh++) {
            for (let kw = 0; kw < kW; kw++) {
              for (let ci = 0; ci < cIn; ci++) {
                const ih = oh + kh - info.padInfo.top;
                const iw = ow + kw - info.padInfo.left;
                const x = ih < 0 || ih >= inH || iw < 0 || iw >= inW ? 0 : v.x[((n * inH + ih) * inW + iw) * cIn + ci]!;
                const w = v.w[((kh * kW + kw) * cIn + ci) * cOut + co]!;
                s = fused ? fmaf(x, w, s) : Math.fround(s + Math.fround(x * w));
              }
            }
          }
          out[o++] = s;
        }
      }
    }
  }
  return out;
}

describe('Conv2D on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const v = values(c, 7);
      const expected = await runOn('cpu', conv(c, v));
      const actual = await runOn('wasm', conv(c, v));
      assert.ok(relativeError(actual, expected) < 1e-5, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it("sums each window in one fixed order, fused where the backend's kind says so: bit-identical to a float32 loop", async () => {
    for (const c of CASES.filter((k) => k.ours)) {
      const v = values(c, 11);
      const actual = await runOn('wasm', conv(c, v));
      const fused = wasmKind() === 'wasm';
      assert.ok(bitIdentical(actual, reference(c, v, fused)), `${c.name}, ${fused ? 'fused' : 'plain'}`);
      assert.ok(!bitIdentical(actual, reference(c, v, !fused)), `${c.name}: the other rounding differs somewhere`);
    }
  });

  it('keeps padded borders zero across calls, new values and more geometries than it keeps buffers for', async () => {
    const first = CASES[0]!;
    const a = values(first, 1);
    await runOn('wasm', conv(first, a));
    // Twelve other padded geometries (more than the eight kept), then the first again on new values.
    for (let h = 4; h < 16; h++) {
      const other: Case = { ...first, x: [1, h, h, 3] };
      await runOn('wasm', conv(other, values(other, h)));
    }
    const b = values(first, 2);
    const again = await runOn('wasm', conv(first, b));
    assert.ok(bitIdentical(again, reference(first, b, wasmKind() === 'wasm')));
  });

  it('pads inputs too large to keep a buffer for (over 1 MB padded) in a buffer of their own: the same bits as image by image', async () => {
    // 7 images of 48x48x16, padded to 50x50: 1.12 MB, made, zeroed and freed by the call; one image: 160 KB, kept.
    const big: Case = { name: 'big', x: [7, 48, 48, 16], filter: [3, 3, 16, 8], pad: 'same', ours: true };
    const one: Case = { ...big, x: [1, 48, 48, 16] };
    const perImage = tf.util.sizeFromShape(one.x);
    for (const seed of [5, 6]) {
      const v = values(big, seed);
      const all = await runOn('wasm', conv(big, v));
      const outPerImage = all.length / 7;
      for (let n = 0; n < 7; n++) {
        const alone = await runOn('wasm', conv(one, { x: v.x.subarray(n * perImage, (n + 1) * perImage), w: v.w }));
        assert.ok(bitIdentical(all.subarray(n * outPerImage, (n + 1) * outPerImage), alone), `seed ${seed}, image ${n}`);
      }
    }
    const before = tf.engine().backend.numDataIds();
    await runOn('wasm', conv(big, values(big, 7)));
    assert.equal(tf.engine().backend.numDataIds(), before);
  });

  it('leaves no tensor data behind', async () => {
    const c = CASES[1]!;
    await runOn('wasm', conv(c, values(c, 3)));
    const before = tf.engine().backend.numDataIds();
    await runOn('wasm', conv(c, values(c, 3)));
    assert.equal(tf.engine().backend.numDataIds(), before);
  });
});
