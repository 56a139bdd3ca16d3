import assert from 'node:assert/strict';
import test from 'node:test';
import { resultTiming } from '../../../src/transports/ws/dispatch.js';

test('a remote compute span sits where the worker\'s clock puts it, when that fits the round trip', () => {
  // Sent at 100, back at 110; the worker says it started at 101 and computed 7 ms.
  assert.deepEqual(resultTiming(100, 110, 101, 7), { sentMs: 100, startMs: 101, endMs: 108, receivedMs: 110 });
  // Right at the edges still fits.
  assert.deepEqual(resultTiming(100, 110, 100, 10), { sentMs: 100, startMs: 100, endMs: 110, receivedMs: 110 });
});

test('with the clocks apart, the span goes in the middle of the round trip', () => {
  // The worker's clock 5 s ahead: its start would be after the result came back.
  assert.deepEqual(resultTiming(100, 110, 5101, 6), { sentMs: 100, startMs: 102, endMs: 108, receivedMs: 110 });
  // Behind: before the task was sent.
  assert.deepEqual(resultTiming(100, 110, 90, 6), { sentMs: 100, startMs: 102, endMs: 108, receivedMs: 110 });
  // Ending after the result arrived does not fit either; a compute longer than the round trip is cut to it.
  assert.deepEqual(resultTiming(100, 110, 105, 6), { sentMs: 100, startMs: 102, endMs: 108, receivedMs: 110 });
  assert.deepEqual(resultTiming(100, 110, 105, 30), { sentMs: 100, startMs: 100, endMs: 110, receivedMs: 110 });
});
