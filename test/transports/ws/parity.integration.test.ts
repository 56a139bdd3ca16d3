import assert from 'node:assert/strict';
import test from 'node:test';
import type { PoolEvent } from '../../../src/transports/ws/pool.js';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, trainWithWorkers, wsConfig, type Spawned } from './helpers.js';

test('a run with 2 WebSocket worker processes ends bit-identical to the in-process run, both doing work', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'ws2');
  const expected = await referenceSha(config);
  const workers = new Map<string, Spawned>();
  const tasksBy = new Map<string, number>();
  try {
    const r = await trainWithWorkers(config, dir, ['a', 'b'], workers, {
      onEvent: (e: PoolEvent) => {
        if (e.kind === 'task') tasksBy.set(e.worker, (tasksBy.get(e.worker) ?? 0) + 1);
      },
    });
    assert.equal(r.weightsSha256, expected);
    assert.equal(tasksBy.size, 2, 'both workers computed');
    // Each warmed up at the coordinator's micro-batch size (64 in 4) before its first step, which changes no bit.
    for (const w of workers.values()) assert.match(w.output(), /warmed up: \d+ gradients of 16 examples/);
    // Told to leave, the workers exit by themselves.
    assert.deepEqual(await Promise.all([...workers.values()].map((w) => w.exited)), [0, 0]);
  } finally {
    killAll([...workers.values()]);
  }
});
