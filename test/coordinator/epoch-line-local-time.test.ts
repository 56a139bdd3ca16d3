import assert from 'node:assert/strict';
import test from 'node:test';
import { epochLine } from '../../src/coordinator/train-loop.js';
import type { EpochMetrics } from '../../src/coordinator/run-folder.js';

const epoch4: EpochMetrics = {
  epoch: 4,
  step: 628,
  trainLoss: 1.061,
  runningAcc: 0.7,
  trainAcc: 0.73,
  valAcc: 0.691,
  valLoss: 1.08,
  imagesPerSec: 5326,
  elapsedSec: 11.8,
  workers: 1,
  backends: ['wasm'],
};

/** `f` with the process's time zone set to `tz` (Node reads TZ again when it changes). */
function inZone<T>(tz: string, f: () => T): T {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

test("the epoch line is stamped in local time, as the article's datetime.now() and `date` are: it names no zone, and UTC read hours off elsewhere", () => {
  const at = new Date(Date.UTC(2026, 10, 28, 17, 13, 58));
  const rest = ' Epoch 4, Training loss 1.0610, 5326 images/s, train acc 0.730, val acc 0.691';
  assert.equal(inZone('Asia/Tokyo', () => epochLine(epoch4, at)), `2026-11-29 02:13:58${rest}`);
  assert.equal(inZone('America/New_York', () => epochLine(epoch4, at)), `2026-11-28 12:13:58${rest}`);
  assert.equal(inZone('UTC', () => epochLine(epoch4, at)), `2026-11-28 17:13:58${rest}`);
});
