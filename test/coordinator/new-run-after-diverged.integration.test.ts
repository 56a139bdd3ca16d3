import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { readRun } from '../../src/report/read-run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { poisonedFrom, quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';
import { trainer } from '../cli/cli-helpers.js';

// A run that diverges before its first checkpoint leaves its folder to the next run of its name
// (--train.lr lowered, the same --run.name): that run kept diverged.txt, so once stopped (Ctrl-C)
// eval said "it stopped with E_DIVERGED, and diverges again from there" and the report "This run
// diverged", quoting the other run's train.lr.
test('a new run in the folder of one that diverged before its first checkpoint is not said to have diverged', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = smallConfig(dir, { run: { name: 'again' } });
  await assert.rejects(runTraining({ config, resume: false, createPool: poisonedFrom(3), log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED'));
  const folder = RunFolder.of(config);
  assert.notEqual(await folder.readDiverged(), null);
  assert.equal(await folder.hasCheckpoint(), false);

  // Stopped at the end of its first epoch (10 steps): a checkpoint at an epoch's end, no model.
  assert.equal((await trainStoppedAt(config, 10)).runDir, folder.dir);
  assert.equal(await folder.readDiverged(), null);
  const e = trainer(['eval', folder.dir]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /has no model yet: the run stopped before its end; finish it with .*--resume\n$/);
  assert.doesNotMatch(e.stderr, /DIVERGED/);
  assert.equal((await readRun(folder.dir)).diverged, null);
  assert.equal(folder.dir, join(dir, 'runs', 'again'));
});
