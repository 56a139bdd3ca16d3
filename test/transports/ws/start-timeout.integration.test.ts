import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { tempDir } from '../../helpers.js';
import { loopbackWsPool, wsConfig } from './helpers.js';

const GAVE_UP = /^0 of 2 worker\(s\) joined within cluster\.startTimeoutMs \(1\.5 s\): start the workers \(trainer worker --connect HOST:PORT\), or raise cluster\.startTimeoutMs \(0 waits for ever\)$/;

test('a new coordinator run whose workers do not join within cluster.startTimeoutMs gives up with E_NO_WORKERS (it waited for ever), saying every so often that it waits', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'alone', { cluster: { startTimeoutMs: 1500 } });
  const lines: string[] = [];
  const t0 = performance.now();
  await assert.rejects(
    runTraining({ config, resume: false, log: (l) => lines.push(l), createPool: loopbackWsPool({ minWorkers: 2, waitingLineEveryMs: 400, signal: AbortSignal.timeout(60_000) }) }),
    (e) => isTrainerError(e, 'E_NO_WORKERS') && GAVE_UP.test(e.message),
  );
  const took = performance.now() - t0;
  assert.ok(took >= 1500 && took < 20_000, `gave up after ${took} ms`);
  const waiting = lines.filter((l) => l.startsWith('waiting for workers: '));
  assert.ok(waiting.length >= 2, lines.join('\n'));
  assert.match(waiting[0] as string, /^waiting for workers: 0 of 2 joined after 0\.\d s \(gives up after 1\.5 s: cluster\.startTimeoutMs\)$/);
});

test('a resumed coordinator run with no worker at all is held by cluster.startTimeoutMs too (cluster.noWorkerTimeoutMs lets it go on with fewer, never with none)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'resumed', { cluster: { startTimeoutMs: 1500, noWorkerTimeoutMs: 500 } });
  await assert.rejects(
    runTraining({ config, resume: false, log: () => {}, createPool: loopbackWsPool({ minWorkers: 2, resumed: true, signal: AbortSignal.timeout(60_000) }) }),
    (e) => isTrainerError(e, 'E_NO_WORKERS') && GAVE_UP.test(e.message),
  );
});

test('cluster.startTimeoutMs 0 waits for ever: only the stop ends the wait', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'forever', { cluster: { startTimeoutMs: 0 } });
  const lines: string[] = [];
  const t0 = performance.now();
  await assert.rejects(
    runTraining({ config, resume: false, log: (l) => lines.push(l), createPool: loopbackWsPool({ minWorkers: 2, waitingLineEveryMs: 400, signal: AbortSignal.timeout(2500) }) }),
    (e) => isTrainerError(e, 'E_NO_WORKERS') && /stopped while waiting for 2 workers \(0 ready\)/.test(e.message),
  );
  assert.ok(performance.now() - t0 >= 2400);
  assert.match(lines.find((l) => l.startsWith('waiting for workers: ')) ?? '', /^waiting for workers: 0 of 2 joined after 0\.\d s$/);
});
