import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** The labels of the epoch marks drawn. */
const marks = (html: string) => [...html.matchAll(/class="marklabel"[^>]*>([^<]+)</g)].map((m) => m[1]);

test('a comparison marks where epochs ended only when the runs\' epochs end at the same steps (the longest run\'s marks were drawn for a run of another batch size)', async () => {
  const dir = await tempDir();
  const a = await readRun(await writeRun(dir, { name: 'a', epochs: 3, stepsPerEpoch: 10 }));
  const shorter = await readRun(await writeRun(dir, { name: 'shorter', epochs: 2, stepsPerEpoch: 10 }));
  // Half the batch size: twice the steps an epoch.
  const halfBatch = await readRun(await writeRun(dir, { name: 'half-batch', epochs: 2, stepsPerEpoch: 20, config: { train: { batchSize: 32 } } }));

  const same = renderComparison([shorter, a]);
  assert.deepEqual(marks(same), ['e1', 'e2', 'e3'], 'the same steps an epoch: the marks of every epoch any run reached');
  assert.doesNotMatch(same, /id="no-epoch-marks"/);

  const different = renderComparison([a, halfBatch]);
  assert.deepEqual(marks(different), [], 'no marks: epoch 1 ended at step 10 in one run, 20 in the other');
  assert.match(different, /<p class="note" id="no-epoch-marks">/);
  assert.deepEqual(marks(renderComparison([halfBatch, a])), [], 'whichever run comes first');
});
