import assert from 'node:assert/strict';
import test from 'node:test';
import type { StepMetrics } from '../../src/coordinator/run-folder.js';
import { DashboardState, MAX_LOSS_POINTS } from '../../src/dashboard/state.js';

test('a resumed run of 200,000 steps.jsonl lines hands its past to the dashboard (its widest line was a Math.max over every line: call stack exceeded)', () => {
  const steps: StepMetrics[] = Array.from({ length: 200_000 }, (_, i) => ({ step: i + 1, epoch: 1, loss: 1, imagesPerSec: 100, lr: 0.05, workers: 1, elapsedSec: i }));
  const state = new DashboardState('long', 2);
  state.onHistory({ epochs: [], steps, epoch: 1, globalStep: 200_000 });
  const curve = state.snapshot().lossCurve;
  assert.ok(curve.length > 0 && curve.length <= MAX_LOSS_POINTS, `${curve.length} points`);
  assert.equal(curve.at(-1)?.[0], 200_000);
});
