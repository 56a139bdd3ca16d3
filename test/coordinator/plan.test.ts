import assert from 'node:assert/strict';
import test from 'node:test';
import { planEpoch, splitMicroBatches, stepsPerEpoch } from '../../src/coordinator/plan.js';

test('an epoch has ceil(n / B) steps and the last batch holds the remainder', () => {
  assert.equal(stepsPerEpoch(1000, 64), 16);
  const plan = planEpoch(0, 0, 1000, 64);
  assert.equal(plan.steps, 16);
  assert.equal(plan.batch(0).length, 64);
  assert.equal(plan.batch(15).length, 1000 - 15 * 64);
  const seen = new Set<number>();
  for (let s = 0; s < plan.steps; s++) for (const i of plan.batch(s)) seen.add(i);
  assert.equal(seen.size, 1000);
});

test('micro-batches are contiguous, cover the batch, and differ in size by at most one', () => {
  const batch = Int32Array.from({ length: 40 }, (_, i) => 100 + i);
  const parts = splitMicroBatches(batch, 6);
  assert.deepEqual(parts.map((p) => p.length), [7, 7, 7, 7, 6, 6]);
  assert.deepEqual(parts.flatMap((p) => [...p]), [...batch]);
});

test('fewer examples than micro-batches leaves empty tail micro-batches', () => {
  const parts = splitMicroBatches(Int32Array.from([1, 2]), 4);
  assert.deepEqual(parts.map((p) => p.length), [1, 1, 0, 0]);
});
