import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

// The message train-loop.ts's diverged() gives, as run.ts writes it to diverged.txt.
const MESSAGE =
  'the update of step 13 makes weights non-finite (train.lr 0.05): the run diverged and stops; nothing of this step is applied or saved, ' +
  'the last checkpoint stays as it was (lower train.lr?)';

test('the report and the comparison say that a run diverged, with its message (diverged.txt; the page read as a run stopped by Ctrl-C)', async () => {
  const dir = await tempDir();
  // Diverged in epoch 2 of 10-step epochs, at step 13.
  const diverged = await readRun(await writeRun(dir, { name: 'diverged', epochs: 2, epochsDone: 1, stepsPerEpoch: 10, stepsAfter: 2, diverged: MESSAGE }));
  const calm = await readRun(await writeRun(dir, { name: 'calm', epochs: 2, stepsPerEpoch: 10 }));

  const note = (who: string, id: string) => `<p class="diverged" id="${id}"><strong>${who} diverged.</strong> It stopped with error E_DIVERGED: ${MESSAGE}</p>`;
  assert.ok(renderReport(diverged).includes(note('This run', 'diverged')));
  assert.doesNotMatch(renderReport(calm), /class="diverged"/);

  const page = renderComparison([calm, diverged]);
  assert.ok(page.includes(note('diverged', 'diverged-run1')));
  assert.doesNotMatch(page, /id="diverged-run0"/);
  const names = [...page.matchAll(/<tr class="run"><td>(.*?)<\/td>/g)].map((m) => (m[1] as string).replace(/<[^>]+>/g, ''));
  assert.deepEqual(names, ['■ calm', '■ diverged (diverged)']);
});
