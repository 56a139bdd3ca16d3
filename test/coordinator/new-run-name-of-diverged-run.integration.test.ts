import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { claimRunFolder, resolveRunConfig } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';

// A new run of the name of a run that diverged after its checkpoint went to NAME-2 saying the folder
// "already holds a run (--resume continues it)": a plain --resume diverges again at the same step, and
// a resume refuses a lower train.lr.
test('a new run of the name of a run that diverged after a checkpoint says, as it takes NAME-2, that --resume diverges again there and a lower train.lr is a new run', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  // Two epochs of 10 steps; the 13th diverges: the checkpoint of epoch 1 stays.
  const config = smallConfig(dir, { run: { name: 'div' }, train: { epochs: 2 } });
  await assert.rejects(runTraining({ config, resume: false, createPool: poisonedFrom(12), log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED'));
  assert.equal(await RunFolder.of(config).hasCheckpoint(), true);

  const lines: string[] = [];
  const claimed = await claimRunFolder(config, 'new', (l) => lines.push(l));
  t.after(() => RunFolder.of(claimed).release());
  assert.equal(claimed.run.name, 'div-2');
  const runs = join(dir, 'runs');
  assert.deepEqual(lines, [
    `${join(runs, 'div')} already holds a run that diverged at step 13 (E_DIVERGED): --resume diverges again there, ` +
      `as a resumed run keeps its optimisation (a lower train.lr is a new run); this new run goes to ${join(runs, 'div-2')}`,
  ]);

  // What the line says of a resume: a lower train.lr is refused there.
  await assert.rejects(
    resolveRunConfig({ resume: true, overrides: { run: { dir: runs, name: 'div' }, train: { lr: 0.01 } }, log: quietLog }),
    (err) => isTrainerError(err, 'E_CHECKPOINT') && /train\.lr differs from the checkpoint's config/.test(err.message),
  );
});
