import assert from 'node:assert/strict';
import test from 'node:test';
import { loadCheckpoint } from '../../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { tempDir } from '../../helpers.js';
import { killAll, spawnWorker, trainOverWs, wsConfig, type Spawned } from './helpers.js';

const TIMEOUT_MS = 1500;

async function runUntilNoWorkers() {
  const dir = await tempDir();
  const config = wsConfig(dir, 'alone', { cluster: { workers: 1, noWorkerTimeoutMs: TIMEOUT_MS } });
  const workers: Spawned[] = [];
  const lines: string[] = [];
  let killedAt = 0;
  let error: unknown = null;
  const started = performance.now();
  try {
    await trainOverWs(config, {
      minWorkers: 1,
      spawn: (url) => workers.push(spawnWorker(url, dir, 'only')),
      log: (l) => lines.push(l),
      extra: {
        onEvent: (e) => {
          if (e.kind === 'task' && e.step === 3 && killedAt === 0) {
            killedAt = performance.now();
            workers[0]?.child.kill('SIGKILL');
          }
        },
      },
    });
  } catch (err) {
    error = err;
  } finally {
    killAll(workers);
  }
  return { config, error, lines, waitedMs: performance.now() - killedAt, totalMs: performance.now() - started };
}

const outcome = runUntilNoWorkers();

test('with every worker gone the coordinator says it waits, then fails with E_NO_WORKERS after cluster.noWorkerTimeoutMs', async () => {
  const { error, lines, waitedMs } = await outcome;
  assert.ok(isTrainerError(error, 'E_NO_WORKERS'), `got ${String(error)}`);
  // The error says nothing was lost (the checkpoint is checked below).
  assert.match((error as Error).message, /; checkpoint at step 3 written in .*, continue with --resume$/);
  assert.ok(lines.some((l) => /no workers: waiting up to 1\.5 s/.test(l)), lines.join('\n'));
  assert.ok(waitedMs >= TIMEOUT_MS, `gave up after ${waitedMs} ms`);
  assert.ok(waitedMs < TIMEOUT_MS + 5000, `gave up after ${waitedMs} ms`);
});

test('... leaving a checkpoint at the step it could not finish', async () => {
  const { config } = await outcome;
  const ck = await loadCheckpoint(RunFolder.of(config).checkpointFile);
  assert.equal(ck.globalStep, 3);
});
