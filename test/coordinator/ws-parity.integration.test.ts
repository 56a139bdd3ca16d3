import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { wsPoolFactory } from '../../src/coordinator/ws-launch.js';
import type { PoolEvent } from '../../src/coordinator/ws-pool.js';
import { quietLog, tempDir } from '../helpers.js';
import { TOKEN, killAll, referenceSha, spawnWorker, wsConfig, type Spawned } from './ws-helpers.js';

test('a run with 2 WebSocket worker processes ends bit-identical to the in-process run, both doing work', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'ws2');
  const expected = await referenceSha(config);
  const workers: Spawned[] = [];
  const tasksBy = new Map<string, number>();
  try {
    const r = await runTraining({
      config,
      resume: false,
      log: quietLog,
      createPool: wsPoolFactory({
        host: '127.0.0.1',
        port: 0,
        token: TOKEN,
        minWorkers: 2,
        onListening: (url) => workers.push(spawnWorker(url, dir, 'a'), spawnWorker(url, dir, 'b')),
        extra: {
          onEvent: (e: PoolEvent) => {
            if (e.kind === 'task') tasksBy.set(e.worker, (tasksBy.get(e.worker) ?? 0) + 1);
          },
        },
      }),
    });
    assert.equal(r.weightsSha256, expected);
    assert.equal(tasksBy.size, 2, 'both workers computed');
    // Told to leave, the workers exit by themselves.
    assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
  } finally {
    killAll(workers);
  }
});
