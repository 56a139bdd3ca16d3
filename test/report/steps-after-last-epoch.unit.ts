import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** The cells of the comparison's row for each run: name, epochs, steps, ..., elapsed s. */
const rows = (html: string) =>
  [...html.matchAll(/<tr class="run">(.*?)<\/tr>/g)].map((m) => [...(m[1] as string).matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1] as string));

test('the report and the comparison count the steps done after the last finished epoch (a run stopped at step 54 said step 32; one stopped at step 4 said 0 steps)', async () => {
  const dir = await tempDir();
  // writeRun logs step s at s / 10 run seconds.
  const midEpoch = await readRun(await writeRun(dir, { name: 'mid-epoch', epochs: 3, epochsDone: 2, stepsPerEpoch: 16, stepsAfter: 22 }));
  const early = await readRun(await writeRun(dir, { name: 'early', epochs: 3, epochsDone: 0, stepsPerEpoch: 16, stepsAfter: 4 }));
  const finished = await readRun(await writeRun(dir, { name: 'finished', epochs: 2, stepsPerEpoch: 16 }));

  const [a, b, c] = rows(renderComparison([midEpoch, early, finished]));
  assert.deepEqual([a?.[1], a?.[2], a?.at(-1)], ['2', '54', '5.4'], 'epochs finished, steps done, elapsed');
  assert.deepEqual([b?.[1], b?.[2], b?.at(-1)], ['0', '4', '0.4']);
  assert.deepEqual([c?.[1], c?.[2], c?.at(-1)], ['2', '32', '3.2']);

  assert.match(renderReport(midEpoch), /<p class="sub">[^<]* · 2 of 3 epochs · 54 steps · 5\.4 s · /);
  assert.match(renderReport(early), /<p class="sub">[^<]* · 0 of 3 epochs · 4 steps · 0\.4 s · /);
});

test("the report's top line says '1 step' of a run stopped after its first step, not '1 steps'", async () => {
  const dir = await tempDir();
  const one = await readRun(await writeRun(dir, { name: 'one-step', epochs: 3, epochsDone: 0, stepsPerEpoch: 16, stepsAfter: 1 }));
  assert.match(renderReport(one), /<p class="sub">[^<]* · 0 of 3 epochs · 1 step · 0\.1 s · /);
});
