import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IMAGE_BYTES } from '../../src/data/cifar-format.js';
import { isTrainerError } from '../../src/shared/errors.js';
import {
  normalizationTable,
  normalizeBatchFromTable,
  normalizePixel,
} from '../../src/data/normalize.js';
import { NORMALIZATIONS, everyByteDataset, firstBitDifference, oddIndices, referenceImages } from '../worker/input-fixtures.js';

test('the normalisation table holds normalizePixel of every byte value on every channel', () => {
  for (const norm of NORMALIZATIONS) {
    const table = normalizationTable(norm);
    assert.equal(table.length, 768);
    for (const c of [0, 1, 2] as const) {
      for (let v = 0; v < 256; v++) {
        assert.ok(Object.is(table[c * 256 + v], normalizePixel(v, c, norm)), `channel ${c}, byte ${v}, mean ${norm.mean}`);
      }
    }
  }
});

test('normalizeBatchFromTable writes what normalizeBatch writes, bit for bit, in any index order', () => {
  const d = everyByteDataset(40);
  assert.ok(d.images.buffer instanceof SharedArrayBuffer);
  for (const norm of NORMALIZATIONS) {
    for (const n of [1, 7, 32]) {
      const indices = oddIndices(d.count, n);
      const out = new Float32Array((n + 1) * IMAGE_BYTES).fill(-99);
      normalizeBatchFromTable(d, indices, normalizationTable(norm), out);
      assert.equal(firstBitDifference(out.subarray(0, n * IMAGE_BYTES), referenceImages(d, indices, norm)), -1, `n ${n}, mean ${norm.mean}`);
      assert.ok(out.subarray(n * IMAGE_BYTES).every((v) => v === -99), 'the rest of out is left alone');
    }
  }
});

test('normalizeBatchFromTable rejects indices outside the set, a short output and a wrong table with E_INTERNAL', () => {
  const d = everyByteDataset(3);
  const table = normalizationTable(NORMALIZATIONS[0]!);
  const out = new Float32Array(2 * IMAGE_BYTES);
  for (const bad of [[3], [-1], [0.5], [0, Number.NaN]]) {
    assert.throws(() => normalizeBatchFromTable(d, bad, table, out), (err) => isTrainerError(err, 'E_INTERNAL'), String(bad));
  }
  assert.throws(() => normalizeBatchFromTable(d, [0, 1, 2], table, out), (err) => isTrainerError(err, 'E_INTERNAL'));
  assert.throws(() => normalizeBatchFromTable(d, [0], table.subarray(1), out), (err) => isTrainerError(err, 'E_INTERNAL'));
});

test('a normalisation with a zero std is rejected when the table is built', () => {
  assert.throws(() => normalizationTable({ mean: [0, 0, 0], std: [1, 0, 1] }), (err) => isTrainerError(err, 'E_DATA'));
});
