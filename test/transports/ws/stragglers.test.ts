import assert from 'node:assert/strict';
import test from 'node:test';
import { SLOW_FACTOR, SLOW_MIN_MS, Stragglers } from '../../../src/transports/ws/stragglers.js';

test('a task is slow against results of its own kind, per example: an evaluation chunk of 500 images is not measured against gradients of 16', () => {
  const s = new Stragglers();
  for (let i = 0; i < 8; i++) s.record('wasm/grad', 32, 16); // 2 ms an example
  assert.equal(s.slowAfterMs('wasm/grad', 16), SLOW_FACTOR * 32);
  assert.equal(s.slowAfterMs('wasm/grad', 8), SLOW_MIN_MS, 'never before SLOW_MIN_MS');
  // No evaluation has come back yet: nothing to call an evaluation chunk slow against
  // (it was 96 ms, the gradients' threshold, for a chunk that takes 500 ms).
  assert.equal(s.slowAfterMs('wasm/eval', 500), null);
  s.record('wasm/eval', 500, 500);
  assert.equal(s.slowAfterMs('wasm/eval', 500), SLOW_FACTOR * 500);
  assert.equal(s.slowAfterMs('wasm/eval', 100), SLOW_FACTOR * 100, "a partial last chunk: its own examples' worth");
  // A backend kind with no result yet is measured against the others' (a worker claiming a kind of
  // its own was never slow, and held its tasks for cluster.stepTimeoutMs); once it has its own, by those.
  assert.equal(s.slowAfterMs('made-up/grad', 16), SLOW_FACTOR * 32);
  for (let i = 0; i < 8; i++) s.record('webgpu/grad', 160, 16);
  assert.equal(s.slowAfterMs('webgpu/grad', 16), SLOW_FACTOR * 160);
  assert.equal(s.slowAfterMs('wasm/grad', 16), SLOW_FACTOR * 32);
});
