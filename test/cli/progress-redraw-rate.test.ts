import assert from 'node:assert/strict';
import test from 'node:test';
import { createProgress } from '../../src/cli/progress.js';

test('on a terminal the bar is redrawn at most every 100 ms, ends full, and is cleared before an epoch line', () => {
  const out: string[] = [];
  let now = 0;
  const p = createProgress({ stream: { isTTY: true, columns: 100, write: (t) => out.push(t) }, epochs: 1, quiet: false, lines: true, now: () => now });
  assert.ok(p.onStep);
  for (let s = 1; s <= 100; s++) {
    now = s * 10; // one step every 10 ms: 1 s in all
    p.onStep({ epoch: 0, stepInEpoch: s, stepsInEpoch: 100, globalStep: s, examples: 64 * s, lossSum: 64 * s, imagesPerSec: 6400, workers: 2 });
  }
  assert.ok(out.length >= 10 && out.length <= 11, `${out.length} redraws in 1 s`);
  assert.match(out.at(-1) ?? '', /100\/100/);
  out.length = 0;
  p.log('Epoch 1, Training loss 1.0000');
  assert.deepEqual(out, ['\r\x1b[2K', 'Epoch 1, Training loss 1.0000\n']);

  const quiet = createProgress({ stream: { isTTY: true, write: () => assert.fail('quiet wrote') }, epochs: 1, quiet: true, lines: true });
  assert.equal(quiet.onStep, undefined);
  quiet.log('x');
  const pipe = createProgress({ stream: { isTTY: false, write: (t) => out.push(t) }, epochs: 1, quiet: false, lines: true });
  assert.equal(pipe.onStep, undefined, 'no bar when not a terminal');
});
