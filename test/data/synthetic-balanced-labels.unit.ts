import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { generateSynthetic } from '../../src/data/synthetic.js';

function counts(labels: Uint8Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const l of labels) c[l] = (c[l] ?? 0) + 1;
  return c;
}

test('labels are balanced across classes and shuffled', () => {
  const d = generateSynthetic(103, 5);
  const c = counts(d.labels, 10);
  assert.deepEqual(c, [11, 11, 11, 10, 10, 10, 10, 10, 10, 10]);
  const inOrder = Array.from(d.labels).every((l, i) => l === i % 10);
  assert.ok(!inOrder, 'labels are not in round-robin order');

  const three = generateSynthetic(30, 5, 3);
  assert.deepEqual(counts(three.labels, 3), [10, 10, 10]);
  assert.equal(three.images.length, 30 * 3072);
});

test('a class count outside 1..10 is E_DATA', () => {
  assert.throws(() => generateSynthetic(10, 1, 11), (err) => isTrainerError(err, 'E_DATA'));
  assert.throws(() => generateSynthetic(10, 1, 0), (err) => isTrainerError(err, 'E_DATA'));
});
