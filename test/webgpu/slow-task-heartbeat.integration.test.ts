// A worker whose task takes longer than its silence limit (4 heartbeats) on an asynchronous
// backend (webgpu: the event loop is free while the GPU computes) must not take the coordinator's
// silence for a lost link: the coordinator does not ping a worker that holds a task.
import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { killAll, trainWithWorkers, wsConfig, type Spawned } from '../transports/ws/helpers.js';
import { webgpuSkip } from './fixtures.js';

test('a webgpu worker computing for longer than 4 heartbeats keeps its link (no "no word from the coordinator")', { skip: (await webgpuSkip()) ?? false }, async () => {
  const dir = await tempDir();
  // heartbeatMs 100: silent for 0.4 s counts as lost while waiting; a micro-batch on a software adapter takes longer.
  const base = wsConfig(dir, 'slow', { data: { synthetic: { trainSize: 512, valSize: 512 } }, eval: { batchSize: 512 }, backend: 'webgpu', train: { epochs: 1 } });
  const config = { ...base, cluster: { ...base.cluster, heartbeatMs: 100, workers: 1 } };
  const workers = new Map<string, Spawned>();
  try {
    const r = await trainWithWorkers(config, dir, ['gpu'], workers, {}, ['--backend', 'webgpu']);
    assert.ok(r.weightsSha256);
    const out = workers.get('gpu')?.output() ?? '';
    assert.doesNotMatch(out, /no word from the coordinator/);
    assert.doesNotMatch(out, /link to .* lost/);
  } finally {
    killAll([...workers.values()]);
  }
});
