import assert from 'node:assert/strict';
import test from 'node:test';
import { formatDuration, progressView, renderProgress } from '../../src/cli/progress.js';

const step = { epoch: 2, stepInEpoch: 25, stepsInEpoch: 100, globalStep: 225, examples: 1600, lossSum: 2000, imagesPerSec: 800, workers: 3, stepLoss: 1.25, stepExamples: 64, stepSec: 0.08, elapsedSec: 20 };

test('the progress line shows epoch, bar, images/s, running loss, ETA and workers alive within the terminal width', () => {
  const v = progressView(step, 6);
  assert.equal(v.epoch, 3);
  assert.equal(v.loss, 1.25);
  // 75 steps of 64 images left at 800 images/s
  assert.equal(v.etaSec, 6);
  const line = renderProgress(v, 100);
  assert.ok(line.length <= 100, line);
  assert.match(line, /^epoch 3\/6 \[#+\.+\] 25\/100 800 img\/s loss 1\.2500 ETA 0:06 workers 3$/);
  const bar = /\[([#.]+)\]/.exec(line)?.[1] ?? '';
  assert.equal(bar.replace(/\./g, '').length, Math.round(bar.length / 4), 'a quarter of the bar is filled');

  const full = renderProgress(progressView({ ...step, stepInEpoch: 100 }, 6), 100);
  assert.match(full, /\[#+\]/);
  const narrow = renderProgress(v, 60);
  assert.ok(narrow.length < 60, narrow);
  assert.doesNotMatch(narrow, /\[/);
  // Narrower still: whole figures are dropped from the end, never cut (at 20 columns "2190 img/s" read "219").
  const fast = progressView({ ...step, imagesPerSec: 2190 }, 6);
  assert.equal(renderProgress(fast, 20), 'epoch 3/6 25/100');
  assert.equal(renderProgress(fast, 28), 'epoch 3/6 25/100 2190 img/s');
  assert.equal(renderProgress(fast, 8), 'epoch 3');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(null), '--:--');
});
