import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { IMAGE_BYTES, PLANE_BYTES } from '../../src/data/cifar-format.js';
import { ARTICLE_NORMALIZATION, normalizeBatch, normalizePixel } from '../../src/data/normalize.js';
import type { Normalization } from '../../src/data/normalize.js';
import { patterned } from './fixtures.js';

const norm: Normalization = { mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] };

test('normalizeBatch writes the chosen images as NHWC float32 with the documented formula', () => {
  const d = patterned([0, 1, 2]);
  const out = new Float32Array(3 * IMAGE_BYTES).fill(-99);
  normalizeBatch(d, [2, 0], norm, out);

  for (const [k, i] of [[0, 2], [1, 0]] as const) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        for (let c = 0; c < 3; c++) {
          const pixel = d.images[i * IMAGE_BYTES + c * PLANE_BYTES + y * 32 + x] as number;
          const got = out[k * IMAGE_BYTES + (y * 32 + x) * 3 + c] as number;
          const scale = 1 / (255 * norm.std[c]!);
          const shift = -norm.mean[c]! / norm.std[c]!;
          assert.equal(got, Math.fround(pixel * scale + shift));
          assert.ok(Math.abs(got - (pixel / 255 - norm.mean[c]!) / norm.std[c]!) < 1e-5);
        }
      }
    }
  }
  assert.ok(out.subarray(2 * IMAGE_BYTES).every((v) => v === -99), 'the rest of out is left alone');
});

test('normalizePixel agrees with normalizeBatch bit for bit', () => {
  const d = patterned([5]);
  const out = new Float32Array(IMAGE_BYTES);
  normalizeBatch(d, [0], ARTICLE_NORMALIZATION, out);
  for (let p = 0; p < PLANE_BYTES; p++) {
    for (const c of [0, 1, 2] as const) {
      assert.equal(out[p * 3 + c], normalizePixel(d.images[c * PLANE_BYTES + p] as number, c, ARTICLE_NORMALIZATION));
    }
  }
});

test('an index outside the set, a short output or a zero std is refused', () => {
  const d = patterned([0, 1]);
  assert.throws(() => normalizeBatch(d, [2], norm, new Float32Array(IMAGE_BYTES)), (err) => isTrainerError(err, 'E_INTERNAL'));
  assert.throws(() => normalizeBatch(d, [0, 1], norm, new Float32Array(IMAGE_BYTES)), (err) => isTrainerError(err, 'E_INTERNAL'));
  const flat: Normalization = { mean: [0.5, 0.5, 0.5], std: [0.2, 0, 0.2] };
  assert.throws(() => normalizeBatch(d, [0], flat, new Float32Array(IMAGE_BYTES)), (err) => isTrainerError(err, 'E_DATA') && /std\[1\]/.test(err.message));
});
