// Webgpu worker threads release their Dawn device and end by themselves when the pool closes.
// Terminated with the device alive, a thread crashed the process after the model was saved on an
// NVIDIA H200 (SIGSEGV, exit 139, 3 runs of 3 on 2026-12-04); lavapipe survives it, so this checks
// the release itself: no thread is left to terminate, and the weights are in-process webgpu's.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import type { PoolFactory } from '../../src/transports/pool.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { threadPoolFactory, type ThreadPool } from '../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';
import { webgpuSkip } from './fixtures.js';

// 128 examples in batches of 64, 4 micro-batches: 2 steps, one epoch.
const over = { data: { synthetic: { trainSize: 128, valSize: 64 } }, train: { epochs: 1 }, eval: { batchSize: 64 }, backend: 'webgpu' };

test('webgpu threads end by themselves once the pool closes, after the same training as in-process', { skip: (await webgpuSkip()) ?? false }, async () => {
  const dir = await tempDir();
  const base = await runTraining({ config: smallConfig(dir, { run: { name: 'in-process' }, ...over }), resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog });
  let pool: ThreadPool | undefined;
  const factory = threadPoolFactory();
  const r = await runTraining({
    config: smallConfig(dir, { run: { name: 'threads' }, ...over, cluster: { transport: 'threads', workers: 2 } }),
    resume: false,
    log: quietLog,
    createPool: async (ctx) => (pool = await factory(ctx)),
  });
  assert.equal(r.weightsSha256, base.weightsSha256);
  assert.deepEqual(pool?.closedThreads(), { ended: 2, terminated: 0, released: 2 });
});

test('wasm threads are terminated at close as before (no wait)', async () => {
  const dir = await tempDir();
  let pool: ThreadPool | undefined;
  const factory = threadPoolFactory();
  await runTraining({
    config: smallConfig(dir, { ...over, backend: 'wasm', cluster: { transport: 'threads', workers: 2 } }),
    resume: false,
    log: quietLog,
    createPool: async (ctx) => (pool = await factory(ctx)),
  });
  assert.deepEqual(pool?.closedThreads(), { ended: 0, terminated: 2, released: 0 });
});
