// TERM=dumb (Emacs' shell and compilation buffers, some CI log viewers) shows escape sequences as
// they are: the bar's `\r\x1b[2K` before every redraw and before each epoch line was `^[[2K` there.
import assert from 'node:assert/strict';
import test from 'node:test';
import { createProgress } from '../../src/cli/progress.js';

const step = (s: number) => ({ epoch: 0, stepInEpoch: s, stepsInEpoch: 10, globalStep: s, examples: 64 * s, lossSum: 64 * s, imagesPerSec: 6400, workers: 1, stepLoss: 1, stepExamples: 64, stepSec: 0.01, elapsedSec: s / 100 });

test('on TERM=dumb the bar is redrawn and cleared with carriage returns and spaces, no escape sequence', () => {
  const saved = process.env.TERM;
  process.env.TERM = 'dumb';
  try {
    const out: string[] = [];
    let now = 0;
    const p = createProgress({ stream: { isTTY: true, columns: 100, write: (t) => out.push(t) }, out: { write: (t) => out.push(`stdout:${t}`) }, epochs: 1, quiet: false, json: false, now: () => now });
    assert.ok(p.onStep, 'a bar is still drawn: a carriage return works there');
    for (let s = 1; s <= 10; s++) {
      now = s * 200;
      p.onStep(step(s));
    }
    p.result('Epoch 1, Training loss 1.0000');
    assert.ok(!out.join('').includes('\x1b'), JSON.stringify(out));
    const drawn = out.filter((t) => t.includes('['));
    const last = drawn.at(-1) ?? '';
    // Each redraw and the clear before the epoch line overwrite the whole bar drawn before it.
    const bar = last.slice(last.lastIndexOf('\r') + 1);
    assert.match(bar, /10\/10/);
    assert.equal(out.at(-2), `\r${' '.repeat(bar.length)}\r`);
    assert.equal(out.at(-1), 'stdout:Epoch 1, Training loss 1.0000\n');
  } finally {
    if (saved === undefined) delete process.env.TERM;
    else process.env.TERM = saved;
  }
});

test('on other terminals the bar is cleared with the escape sequence, as before', () => {
  const out: string[] = [];
  const p = createProgress({ stream: { isTTY: true, columns: 100, write: (t) => out.push(t) }, out: { write: (t) => out.push(`stdout:${t}`) }, epochs: 1, quiet: false, json: false, plain: false, now: () => 0 });
  p.onStep?.(step(10));
  p.result('x');
  assert.deepEqual(out.slice(1), ['\r\x1b[2K', 'stdout:x\n']);
});
