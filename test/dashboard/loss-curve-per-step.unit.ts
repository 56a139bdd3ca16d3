import assert from 'node:assert/strict';
import test from 'node:test';
import type { StepInfo } from '../../src/coordinator/train-loop.js';
import { dashboardCharts } from '../../src/dashboard/charts.js';
import { DashboardState, MAX_LOSS_POINTS } from '../../src/dashboard/state.js';

/** Step `g` (1-based) of 2 epochs of 10 steps whose own loss falls steadily from 2.0. */
function step(g: number): StepInfo {
  const stepInEpoch = ((g - 1) % 10) + 1;
  const own = (k: number) => 2 - 0.05 * k;
  let lossSum = 0;
  for (let k = g - stepInEpoch + 1; k <= g; k++) lossSum += 64 * own(k);
  return {
    epoch: Math.floor((g - 1) / 10), stepInEpoch, stepsInEpoch: 10, globalStep: g, examples: 64 * stepInEpoch, lossSum,
    imagesPerSec: 640, workers: 2, stepLoss: own(g), stepExamples: 64, stepSec: 0.1, elapsedSec: g / 10,
  };
}

test('the loss curve is each step\'s loss, smooth across the epoch boundary (no sawtooth); ETA for the run; workers n of N', () => {
  let now = 0;
  const st = new DashboardState('r', 2, () => now, 2);
  assert.equal(st.snapshot().workersWanted, 2);
  assert.equal(st.snapshot().etaSec, null, 'no pace before a step');
  for (let g = 1; g <= 15; g++) {
    now = g * 100;
    st.onStep(step(g));
  }
  const curve = st.snapshot().lossCurve;
  assert.deepEqual(curve.map((p) => p[0]), Array.from({ length: 15 }, (_, i) => i + 1));
  // Each step's own loss, not the epoch's running mean (which lags, then restarts at step 11: from 1.725 to 1.45 at once).
  assert.deepEqual(curve.map((p) => p[1]), Array.from({ length: 15 }, (_, i) => step(i + 1).stepLoss));
  for (let i = 1; i < curve.length; i++) assert.ok(Math.abs(curve[i]![1] - curve[i - 1]![1] + 0.05) < 1e-9, `an even fall at step ${curve[i]![0]}`);
  const s = st.snapshot();
  assert.ok(s.smoothedLoss !== null && s.smoothedLoss < 2 && s.smoothedLoss >= 1.25, `smoothed ${s.smoothedLoss}`);
  // 14 steps in 1.4 s since the first: 0.1 s a step, 5 of 20 steps left.
  assert.ok(Math.abs((s.etaSec ?? 0) - 0.5) < 1e-9, `ETA ${s.etaSec}`);

  const svg = dashboardCharts(s);
  assert.match(svg, /<svg id="chart-loss"/);
  assert.match(svg, />step<\/text>/);
  assert.match(svg, />cross-entropy<\/text>/);
  assert.ok((svg.match(/class="ytick"/g) ?? []).length >= 3, 'y ticks');
  assert.match(svg, /id="no-epochs"/, 'no accuracy before the first epoch');
});

test('a long run keeps at most MAX_LOSS_POINTS, neighbours averaged, covering every step', () => {
  const st = new DashboardState('r', 1000, () => 0, 1);
  const n = MAX_LOSS_POINTS * 3;
  for (let g = 1; g <= n; g++) st.onStep({ ...step(1), globalStep: g, stepLoss: g % 2 === 0 ? 1 : 3 });
  const curve = st.snapshot().lossCurve;
  assert.ok(curve.length <= MAX_LOSS_POINTS, `${curve.length} points`);
  assert.equal(curve.at(-1)?.[0], n, 'the last step is there');
  for (const [, loss] of curve) assert.equal(loss, 2, 'pairs of 1 and 3 average to 2');
});

test('a resumed run\'s loss lines (each the mean of log.everySteps steps) and its new steps make points of one width: 10-step means were mixed with single steps', () => {
  const st = new DashboardState('r', 3, () => 0, 1);
  // steps.jsonl every 10 steps, and a line at the checkpoint 3 steps after the last (a stop).
  const steps = [10, 20, 30, 33].map((step) => ({ step, epoch: 1, loss: step === 33 ? 1 : 2, imagesPerSec: 1, lr: 0.01, workers: 1, elapsedSec: 1 }));
  st.onHistory({ epochs: [], steps, epoch: 0, globalStep: 33 });
  for (let g = 34; g <= 53; g++) st.onStep({ ...step(1), globalStep: g, stepLoss: 0.5 });
  const curve = st.snapshot().lossCurve;
  // Points of 10 steps: 10, 20, 30; the line at 33 (3 steps of loss 1) with 7 new steps at 40; then
  // 10 new steps at 50, and the 3 since (the point in progress).
  assert.deepEqual(curve.map((p) => p[0]), [10, 20, 30, 40, 50, 53]);
  assert.deepEqual(curve.slice(0, 3).map((p) => p[1]), [2, 2, 2]);
  assert.ok(Math.abs((curve[3]?.[1] ?? 0) - (3 * 1 + 7 * 0.5) / 10) < 1e-12, `${curve[3]?.[1]}`);
  assert.deepEqual(curve.slice(4).map((p) => p[1]), [0.5, 0.5]);
});
