import assert from 'node:assert/strict';
import test from 'node:test';
import type { StepInfo } from '../../src/coordinator/train-loop.js';
import type { EpochMetrics } from '../../src/coordinator/run-folder.js';
import { DashboardState } from '../../src/dashboard/state.js';

/** Step `g` (1-based) of epochs of 10 steps. */
function step(g: number): StepInfo {
  const stepInEpoch = ((g - 1) % 10) + 1;
  return {
    epoch: Math.floor((g - 1) / 10), stepInEpoch, stepsInEpoch: 10, globalStep: g, examples: 64 * stepInEpoch, lossSum: 64 * stepInEpoch,
    imagesPerSec: 640, workers: 1, stepLoss: 1, stepExamples: 64, stepSec: 0.1, elapsedSec: g / 10,
  };
}

/** Epoch `epoch`'s line, evaluated. */
const evaluated = (epoch: number) => ({ epoch, step: 10 * epoch, trainLoss: 1, runningAcc: 0.5, valLoss: 1, trainAcc: 0.5, valAcc: 0.5, imagesPerSec: 640 }) as EpochMetrics;

test('during the final evaluation the dashboard says "evaluating" and what is left of it (as long as the last one took), not an ETA of 0:00', () => {
  let now = 0;
  const st = new DashboardState('r', 2, () => now);
  for (let g = 1; g <= 10; g++) {
    now = g * 100;
    st.onStep(step(g));
  }
  assert.equal(st.snapshot().evaluating, false, 'epoch 1 evaluates, and a step is left after it');
  now = 4000; // epoch 1's end (its evaluation) took 3 s
  st.onEpoch(evaluated(1));
  for (let g = 11; g <= 20; g++) {
    now = 4000 + (g - 10) * 100;
    st.onStep(step(g));
  }
  now += 1000;
  const s = st.snapshot();
  assert.equal(s.evaluating, true);
  assert.equal(s.etaSec, 2, 'the 3 s of the last evaluation, less the 1 s since the last step (the pace of steps said 0)');
  now += 5000;
  assert.equal(st.snapshot().etaSec, 0, 'longer than the last one: nothing left that can be said');
  st.onEpoch(evaluated(2));
  assert.deepEqual([st.snapshot().evaluating, st.snapshot().etaSec, st.snapshot().finished], [false, 0, true]);

  // A run of one epoch has timed no evaluation: unknown, not 0.
  const one = new DashboardState('r', 1, () => now);
  for (let g = 1; g <= 10; g++) {
    now += 100;
    one.onStep(step(g));
  }
  assert.deepEqual([one.snapshot().evaluating, one.snapshot().etaSec], [true, null]);
  one.end('stopped');
  assert.equal(one.snapshot().evaluating, false, 'a run that ended is not evaluating');
});
