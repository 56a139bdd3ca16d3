import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** Each run's "last loss" cell in the comparison's table (the fourth: run, epochs, steps, last loss). */
const lastLosses = (html: string) => [...html.matchAll(/<tr class="run">(?:<td>.*?<\/td>){3}<td>(.*?)<\/td>/g)].map((m) => m[1]);

test('the comparison shows the last logged loss of a run stopped before its first epoch ended, marked as a step\'s (it showed "–", though steps.jsonl had it)', async () => {
  const dir = await tempDir();
  const loss = (step: number) => 2 - step / 100;
  const early = await readRun(await writeRun(dir, { name: 'early', epochs: 3, epochsDone: 0, stepsPerEpoch: 16, stepsAfter: 4, loss }));
  const finished = await readRun(await writeRun(dir, { name: 'finished', epochs: 2, stepsPerEpoch: 16, loss }));

  const html = renderComparison([early, finished]);
  assert.deepEqual(lastLosses(html), ['1.9600 (step 4)', '1.6800'], 'step 4\'s loss, said to be a step\'s; the finished run\'s last epoch\'s, as before');
  assert.match(html, /<p class="note" id="step-loss">last loss: the mean training loss of the last finished epoch\. "\(step N\)": the run stopped before its first epoch ended/);

  const together = renderComparison([finished, await readRun(await writeRun(dir, { name: 'also-finished', epochs: 2, stepsPerEpoch: 16, loss }))]);
  assert.deepEqual(lastLosses(together), ['1.6800', '1.6800']);
  assert.doesNotMatch(together, /id="step-loss"/, 'no note when no run\'s loss is a step\'s');
});

test('the comparison shows the images/s of a run stopped before its first epoch ended from its last steps.jsonl line, marked as a step\'s (it showed "–")', async () => {
  const dir = await tempDir();
  const early = await readRun(await writeRun(dir, { name: 'early', epochs: 3, epochsDone: 0, stepsPerEpoch: 16, stepsAfter: 4 }));
  const finished = await readRun(await writeRun(dir, { name: 'finished', epochs: 2, stepsPerEpoch: 16 }));
  // The seventh cell: run, epochs, steps, last loss, train acc, val acc, images/s (writeRun logs 1000 images/s everywhere).
  const speeds = [...renderComparison([early, finished]).matchAll(/<tr class="run">(?:<td>.*?<\/td>){6}<td>(.*?)<\/td>/g)].map((m) => m[1]);
  assert.deepEqual(speeds, ['1000 (step 4)', '1000']);
});
