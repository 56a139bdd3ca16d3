import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

// --resume of a run that diverged before its first checkpoint said it "holds a run stopped before its
// first checkpoint ... start it again without --resume": the same run, which diverges there again.
test('--resume of a run that diverged before its first checkpoint says it diverged, at which step, and that a new run needs a lower train.lr', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = smallConfig(dir, { run: { name: 'div' } });
  await assert.rejects(runTraining({ config, resume: false, createPool: poisonedFrom(3), log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED'));
  const runs = join(dir, 'runs');
  const r = trainer(['train', '--run.dir', runs, '--run.name', 'div', '--resume']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [
    2,
    '',
    `error E_CHECKPOINT: ${join(runs, 'div')} holds a run that diverged at step 4 (E_DIVERGED) before its first checkpoint: nothing to resume; ` +
      'start a new run without --resume, with a lower train.lr (the same one diverges again)\n',
  ]);
});
