import assert from 'node:assert/strict';
import test from 'node:test';
import { DEFAULT_CONFIG, resolveConfig } from '../../src/shared/config.js';
import { isTrainerError } from '../../src/shared/errors.js';

const rejects = (cluster: object, message: string) =>
  assert.rejects(resolveConfig(undefined, { cluster }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === message);

test('the ws pool limits have documented defaults', () => {
  const c = DEFAULT_CONFIG.cluster;
  assert.deepEqual(
    { maxMessagesPerSec: c.maxMessagesPerSec, maxPendingBytes: c.maxPendingBytes, dataChunkBytes: c.dataChunkBytes, tasksInFlight: c.tasksInFlight },
    { maxMessagesPerSec: 1000, maxPendingBytes: 0, dataChunkBytes: 1048576, tasksInFlight: 2 },
  );
});

test('cluster.maxMessagesPerSec must be a positive integer', async () => {
  await rejects({ maxMessagesPerSec: 0 }, 'cluster.maxMessagesPerSec must be a positive integer, got 0');
  await rejects({ maxMessagesPerSec: 2.5 }, 'cluster.maxMessagesPerSec must be a positive integer, got 2.5');
});

test('cluster.maxPendingBytes must be a non-negative integer (0 sizes it from the model)', async () => {
  await rejects({ maxPendingBytes: -1 }, 'cluster.maxPendingBytes must be a non-negative integer, got -1');
  assert.equal((await resolveConfig(undefined, { cluster: { maxPendingBytes: 0 } })).cluster.maxPendingBytes, 0);
});

test('cluster.dataChunkBytes must be a positive integer of at most 256 MiB', async () => {
  await rejects({ dataChunkBytes: 0 }, 'cluster.dataChunkBytes must be a positive integer, got 0');
  await rejects({ dataChunkBytes: 2 ** 28 + 1 }, 'cluster.dataChunkBytes must be a positive integer of at most 268435456, got 268435457');
});

test('cluster.tasksInFlight must be a positive integer', async () => {
  await rejects({ tasksInFlight: 0 }, 'cluster.tasksInFlight must be a positive integer, got 0');
  await rejects({ tasksInFlight: '2' }, 'cluster.tasksInFlight must be a positive integer, got "2"');
});
