import assert from 'node:assert/strict';
import test from 'node:test';
import { smooth } from '../../src/report/smooth.js';
import { MAX_STEP_POINTS, stepPoints } from '../../src/report/step-points.js';

const series = (n: number, loss: (step: number) => number) => Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: loss(i + 1) }));

test('a per-step series of at most MAX_STEP_POINTS lines is drawn as it is, the smoothed one on every line', () => {
  const steps = series(MAX_STEP_POINTS, (s) => 2 - s / 1000 + (s % 3) * 0.1);
  const { raw, smoothed } = stepPoints(steps);
  assert.deepEqual(raw, steps);
  assert.deepEqual(smoothed.map((p) => p.step), steps.map((s) => s.step));
  assert.deepEqual(smoothed.map((p) => p.loss), smooth(steps.map((s) => s.loss)));
});

test('a longer one is cut into buckets of equal steps: its lowest and highest line each, in step order, and the full-resolution smoothed curve at each bucket\'s end', () => {
  // 1000 lines in 10 buckets of 100 steps; bucket k peaks at step 100k + 37 and dips at step 100k + 81.
  const steps = series(1000, (s) => (s % 100 === 37 ? 5 : s % 100 === 81 ? 0.1 : 1 + (s % 7) * 0.01));
  const { raw, smoothed } = stepPoints(steps, 10);
  const expectedRaw = Array.from({ length: 10 }, (_, k) => [
    { step: 100 * k + 37, loss: 5 },
    { step: 100 * k + 81, loss: 0.1 },
  ]).flat();
  assert.deepEqual(raw, expectedRaw);
  const full = smooth(steps.map((s) => s.loss));
  // Bucket k holds steps 100k + 1 .. 100k + 100 (the last step closes the last bucket).
  assert.deepEqual(smoothed.map((p) => p.step), [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  assert.deepEqual(smoothed.map((p) => p.loss), smoothed.map((p) => full[p.step - 1]));

  const flat = stepPoints(series(5000, () => 1), 10);
  assert.equal(flat.raw.length, 10, 'a bucket whose lines are all equal is one point');
  assert.equal(flat.smoothed.length, 10);
});

test('a line of fewer steps than the usual weighs less in the smoothed curve: an epoch\'s last line, one step of a short batch, pulled the demo\'s curve down by 0.2', () => {
  // 100 lines of 10 steps at loss 1, but for one line of 1 step at loss 0 after step 470 (an epoch's
  // end, as the demo's 10,000 images in batches of 64 log: 470, 471, 480).
  const steps: { step: number; loss: number }[] = [];
  for (let step = 10; step <= 470; step += 10) steps.push({ step, loss: 1 });
  steps.push({ step: 471, loss: 0 });
  for (let step = 480; step <= 1000; step += 10) steps.push({ step, loss: 1 });
  const { smoothed } = stepPoints(steps);
  const at471 = smoothed.find((p) => p.step === 471)?.loss as number;
  // Span 3 lines (alpha 0.5): as one of the usual 10-step lines it weighed 0.5 (1 → 0.5); as one step of ten, 1 - 0.5^0.1.
  assert.ok(Math.abs(at471 - 0.5 ** 0.1) < 1e-12, `smoothed at the short line: ${at471}`);
  assert.ok(at471 > 0.9, `a one-step line moves the curve by less than a tenth: ${at471}`);

  // Lines of equal width smooth as before (the plain EMA), whatever the width.
  const even = series(200, (s) => 2 - s / 100 + (s % 3) * 0.1).map((p) => ({ step: p.step * 10, loss: p.loss }));
  assert.deepEqual(stepPoints(even).smoothed.map((p) => p.loss), smooth(even.map((p) => p.loss)));
});
