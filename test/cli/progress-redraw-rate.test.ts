import assert from 'node:assert/strict';
import test from 'node:test';
import { createProgress } from '../../src/cli/progress.js';

test('on a terminal the bar is redrawn at most every 100 ms, ends full, and is cleared before an epoch line', () => {
  const out: string[] = [];
  let now = 0;
  const p = createProgress({ stream: { isTTY: true, columns: 100, write: (t) => out.push(t) }, out: { write: (t) => out.push(`stdout:${t}`) }, epochs: 1, quiet: false, json: false, now: () => now });
  assert.ok(p.onStep);
  for (let s = 1; s <= 100; s++) {
    now = s * 10; // one step every 10 ms: 1 s in all
    p.onStep({ epoch: 0, stepInEpoch: s, stepsInEpoch: 100, globalStep: s, examples: 64 * s, lossSum: 64 * s, imagesPerSec: 6400, workers: 2, stepLoss: 1, stepExamples: 64, stepSec: 0.01, elapsedSec: s / 100 });
  }
  assert.ok(out.length >= 10 && out.length <= 11, `${out.length} redraws in 1 s`);
  assert.match(out.at(-1) ?? '', /100\/100/);
  out.length = 0;
  p.result('Epoch 1, Training loss 1.0000');
  assert.deepEqual(out, ['\r\x1b[2K', 'stdout:Epoch 1, Training loss 1.0000\n'], 'the bar is cleared before a result line goes to stdout');

  const silent = { isTTY: true, write: () => assert.fail('quiet wrote') };
  const quiet = createProgress({ stream: silent, out: silent, epochs: 1, quiet: true, json: false });
  assert.equal(quiet.onStep, undefined);
  quiet.log('x');
  quiet.result('x');
  const pipe = createProgress({ stream: { isTTY: false, write: (t) => out.push(t) }, out: { write: (t) => out.push(t) }, epochs: 1, quiet: false, json: false });
  assert.equal(pipe.onStep, undefined, 'no bar when not a terminal');
});
