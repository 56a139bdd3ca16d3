/**
 * The model is written before the pool closes (a coordinator killed while it waited for workers to
 * read the end had none): a model that cannot be written still ends the run for its workers.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, spawnWorker, wsConfig, type Spawned } from './helpers.js';

test('a model that cannot be written (E_IO) still closes the pool as finished: the worker is told the run is over and exits 0 (a resume writes the model without workers)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'export-fails', { cluster: { workers: 1 } });
  const folder = RunFolder.of(config);
  const procs: Spawned[] = [];
  // The last epoch's line comes before its checkpoint and the model: a file where model/ goes.
  const log = (l: string) => {
    if (/ Epoch 2, /.test(l)) writeFileSync(folder.modelDir, 'in the way');
  };
  const createPool = loopbackWsPool({ minWorkers: 1, onListening: (u) => procs.push(spawnWorker(u, dir, 'only')) });
  try {
    const err = await runTraining({ config, resume: false, createPool, log }).then(() => null, (e: unknown) => e);
    assert.ok(isTrainerError(err, 'E_IO'), String(err));
    const worker = procs[0] as Spawned;
    assert.equal(await Promise.race([worker.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000).unref())]), 0, worker.output());
    assert.match(worker.output(), /leaving: coordinator done/);
  } finally {
    killAll(procs);
  }
});
