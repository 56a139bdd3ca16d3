import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { DEFAULT_CONFIG, MODEL_PARAMETERS, MODELS } from '../../src/shared/config.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { ArrayFrame } from '../../src/transports/ws/encode.js';
import { arrayFrameBytes } from '../../src/transports/ws/protocol.js';

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

test('cluster.maxPayloadBytes below a gradient frame of the model is E_CONFIG: every worker was closed at its first result (1009) and rejoined, for ever', async () => {
  const ws = (over: object) => ({ transport: 'ws', ...over });
  await rejects(ws({ maxPayloadBytes: 65536 }), 'cluster.maxPayloadBytes must be 0 (sized from the model) or at least 73928, a gradient frame of model net, got 65536');
  await assert.rejects(resolveConfig(undefined, { model: { name: 'fc' }, cluster: ws({ maxPayloadBytes: 1 << 20 }) }), (err) => isTrainerError(err, 'E_CONFIG') && /at least 14954536, a gradient frame of model fc, got 1048576$/.test(err.message));
  await rejects({ transport: 'procs', maxPayloadBytes: 1000 }, 'cluster.maxPayloadBytes must be 0 (sized from the model) or at least 73928, a gradient frame of model net, got 1000');
  for (const maxPayloadBytes of [0, 73928]) assert.equal((await resolveConfig(undefined, { cluster: ws({ maxPayloadBytes }) })).cluster.maxPayloadBytes, maxPayloadBytes);
  // Only a WebSocket pool reads it.
  assert.equal((await resolveConfig(undefined, { cluster: { transport: 'threads', maxPayloadBytes: 1000 } })).cluster.maxPayloadBytes, 1000);
  // The bound holds a real gradient frame, whatever its other fields.
  for (const name of MODELS) {
    const g = new Float32Array(MODEL_PARAMETERS[name]);
    const frame = new ArrayFrame('gradient', g.length);
    frame.floats(false).set(g);
    const bytes = frame.finish({ type: 'gradient', taskId: 2 ** 32 - 1, step: Number.MAX_SAFE_INTEGER, version: Number.MAX_SAFE_INTEGER, lossSum: -Number.MAX_VALUE, correct: 4096, count: 4096, computeMs: 86_399_999.123, startedAt: 1e15 - 0.5 });
    assert.ok(bytes.length <= arrayFrameBytes(g.length) && arrayFrameBytes(g.length) === MODEL_PARAMETERS[name] * 4 + 512, name);
  }
});

test('cluster.maxPendingBytes below a weights frame and a dataset chunk is E_CONFIG: on any link slower than loopback every worker was dropped (4509) at its first weights or chunk, and rejoined, for ever', async () => {
  const ws = (over: object) => ({ transport: 'ws', ...over });
  // 73,928 (the weights of net) + 1 MiB + 512.
  await rejects(ws({ maxPendingBytes: 1_000_000 }), 'cluster.maxPendingBytes must be 0 (sized from the model) or at least 1123016, a weights frame of model net and a dataset chunk of cluster.dataChunkBytes, got 1000000');
  await rejects({ transport: 'procs', maxPendingBytes: 300_000, dataChunkBytes: 8 << 20 }, 'cluster.maxPendingBytes must be 0 (sized from the model) or at least 8463048, a weights frame of model net and a dataset chunk of cluster.dataChunkBytes, got 300000');
  await assert.rejects(resolveConfig(undefined, { model: { name: 'fc' }, cluster: ws({ maxPendingBytes: 4_000_000 }) }), (err) => isTrainerError(err, 'E_CONFIG') && /at least 16003624, a weights frame of model fc/.test(err.message));
  for (const maxPendingBytes of [0, 1_123_016]) assert.equal((await resolveConfig(undefined, { cluster: ws({ maxPendingBytes }) })).cluster.maxPendingBytes, maxPendingBytes);
  assert.equal((await resolveConfig(undefined, { cluster: ws({ maxPendingBytes: 100_000, dataChunkBytes: 1000 }) })).cluster.maxPendingBytes, 100_000);
  // Only a WebSocket pool reads it.
  assert.equal((await resolveConfig(undefined, { cluster: { transport: 'threads', maxPendingBytes: 1000 } })).cluster.maxPendingBytes, 1000);
});
