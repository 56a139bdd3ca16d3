import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { isTrainerError } from '../../src/shared/errors.js';
import type { Config } from '../../src/shared/config.js';
import { poisonedFrom, quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';
import { trainer } from '../cli/cli-helpers.js';

/** Which of the earlier run's workers.json and report.html are there at the first step of a run of `config` (stopped then). */
async function thereAtFirstStep(config: Config, resume: boolean): Promise<{ workers: boolean; report: boolean }> {
  const folder = RunFolder.of(config);
  const stop = new AbortController();
  let seen = { workers: false, report: false };
  await runTraining({
    config,
    resume,
    createPool: createInProcessPool,
    log: quietLog,
    signal: stop.signal,
    onStep: () => {
      if (stop.signal.aborted) return;
      seen = { workers: existsSync(folder.workersFile), report: existsSync(folder.reportFile) };
      stop.abort();
    },
  });
  return seen;
}

/** `trainer report` of the run folder: report.html there. */
function report(folder: RunFolder): void {
  const r = trainer(['report', folder.dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(folder.reportFile));
}

// A new run in the folder of one that left no checkpoint kept that run's workers.json and
// report.html until its own first epoch ended: the report read the other run's workers meanwhile.
test("a new run in a reused folder removes the earlier run's workers.json and report.html before its first step; a resumed run keeps them", async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  // Epoch 1 (10 steps) ends with its metrics and workers.json but no checkpoint (every 2 epochs); step 13 diverges.
  const config = smallConfig(dir, { run: { name: 'reused' }, checkpoint: { every: 2 } });
  const folder = RunFolder.of(config);
  await assert.rejects(runTraining({ config, resume: false, createPool: poisonedFrom(12), log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED'));
  assert.equal(await folder.hasCheckpoint(), false);
  assert.ok(existsSync(folder.workersFile));
  report(folder);
  assert.deepEqual(await thereAtFirstStep(config, false), { workers: false, report: false });

  // A run being resumed: its files are its own, never removed.
  const resumed = smallConfig(dir, { run: { name: 'resumed' } });
  const own = RunFolder.of(resumed);
  await trainStoppedAt(resumed, 12);
  assert.ok(existsSync(own.workersFile));
  report(own);
  assert.deepEqual(await thereAtFirstStep(resumed, true), { workers: true, report: true });
});
