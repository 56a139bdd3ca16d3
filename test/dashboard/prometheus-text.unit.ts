import assert from 'node:assert/strict';
import test from 'node:test';
import { DashboardState, prometheusText } from '../../src/dashboard/state.js';

test('/metrics text has HELP and TYPE per metric, per-worker labels escaped, and NaN before the first step', () => {
  let now = 0;
  const st = new DashboardState('r', 2, () => now);
  assert.match(prometheusText(st.snapshot()), /^trainer_train_loss NaN$/m);
  st.onStep({ epoch: 0, stepInEpoch: 1, stepsInEpoch: 5, globalStep: 1, examples: 64, lossSum: 128, imagesPerSec: 500, workers: 1, stepLoss: 2, stepExamples: 64, stepSec: 0.128, elapsedSec: 0.128 });
  now = 1000;
  st.onStepTiming({ epoch: 0, step: 0, marks: [0, 0, 0, 0, 0], workers: [{ worker: 'a "b"\\c', backend: 'wasm', threads: 1, microBatches: 4, examples: 64, computeMs: 250 }], results: [] });
  const text = prometheusText(st.snapshot());
  assert.match(text, /^trainer_train_loss 2$/m);
  assert.match(text, /^trainer_worker_examples_total\{worker="a \\"b\\"\\\\c"\} 64$/m);
  assert.match(text, /^trainer_worker_compute_seconds_total\{worker="a \\"b\\"\\\\c"\} 0\.25$/m);
  for (const name of text.match(/^# TYPE (\S+)/gm) ?? []) assert.match(text, new RegExp(`^# HELP ${name.slice(7)} `, 'm'));
  assert.equal(st.snapshot().workers[0]?.imagesPerSec, 256);
});
