import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** Each row of the comparison's table of runs, as its cells' text. */
const rows = (page: string) =>
  [...page.matchAll(/<tr class="run">(.*?)<\/tr>/g)].map((m) => [...(m[1] as string).matchAll(/<td>(.*?)<\/td>/g)].map((c) => (c[1] as string).replace(/<[^>]+>/g, '')));

test("the comparison marks a run's accuracies with their epoch when its last finished epoch was not evaluated (they read as the last epoch's)", async () => {
  const dir = await tempDir();
  // Stopped with Ctrl-C in epoch 4 of `eval.every: 2`: epochs 1 to 3 finished, epoch 2 the last evaluated.
  const stopped = await readRun(await writeRun(dir, { name: 'stopped', epochs: 6, epochsDone: 3, stepsPerEpoch: 10, stepsAfter: 4, evalEvery: 2 }));
  const every = await readRun(await writeRun(dir, { name: 'every', epochs: 3, stepsPerEpoch: 10 }));
  // Not evaluated before its first evaluation: nothing to mark.
  const none = await readRun(await writeRun(dir, { name: 'none', epochs: 6, epochsDone: 1, stepsPerEpoch: 10, evalEvery: 2 }));

  const page = renderComparison([stopped, every, none]);
  const [header, ...cells] = [/<table id="runs"><tr>(.*?)<\/tr>/.exec(page)?.[1] ?? '', ...rows(page)];
  assert.match(header, /<th>epochs<\/th><th>steps<\/th><th>last loss<\/th><th>train acc<\/th><th>val acc<\/th>/);
  assert.deepEqual(
    cells.map((c) => c.slice(1, 6)),
    [
      ['3', '34', stopped.metrics[2]?.trainLoss.toFixed(4), '0.600 (epoch 2)', '0.550 (epoch 2)'],
      ['3', '30', every.metrics[2]?.trainLoss.toFixed(4), '0.600', '0.550'],
      ['1', '10', none.metrics[0]?.trainLoss.toFixed(4), '–', '–'],
    ],
  );
  assert.match(page, /<p class="note" id="earlier-accuracy">/);
  assert.doesNotMatch(renderComparison([every, none]), /id="earlier-accuracy"/);
});
