import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { readExportedModel } from '../../../src/coordinator/export.js';
import { loadRunData, runTraining } from '../../../src/coordinator/run.js';
import { ARTICLE_NORMALIZATION, resolveNormalization } from '../../../src/data/normalize.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { selectBackend } from '../../../src/worker/backend.js';
import type { Config } from '../../../src/shared/config.js';
import { createInProcessPool } from '../../../src/transports/in-process.js';
import { threadPoolFactory } from '../../../src/transports/threads/pool.js';
import { threadInit } from '../../../src/transports/threads/shared-data.js';
import { getModel } from '../../../src/worker/model.js';
import { everyByteDataset } from '../../worker/input-fixtures.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';
import { referenceTrain, relativeDistance } from '../../reference-loop.js';

// 600 examples in batches of 64: 10 steps an epoch, the last one of 24.
// Two epochs: 20 steps, two of them partial.
async function train(dir: string, name: string, createPool: PoolFactory, over: object = {}) {
  const config = smallConfig(dir, { run: { name }, train: { epochs: 2, microBatches: 4 }, eval: { every: 2 }, ...over });
  const losses: number[] = [];
  const r = await runTraining({ config, resume: false, createPool, log: quietLog, onEpoch: (m) => losses.push(m.trainLoss) });
  return { config, sha: r.weightsSha256, losses, runDir: r.runDir };
}

test('1, 2, 3 and 4 threads end with bit-identical weights, equal to the in-process run and the reference loop', async () => {
  const dir = await tempDir();
  const base = await train(dir, 'in-process', createInProcessPool);
  assert.match(base.sha ?? '', /^[0-9a-f]{64}$/);
  for (const threads of [1, 2, 3, 4]) {
    const r = await train(dir, `threads-${threads}`, threadPoolFactory(), { cluster: { transport: 'threads', workers: threads } });
    assert.equal(r.sha, base.sha, `${threads} threads`);
    assert.deepEqual(r.losses, base.losses, `per-epoch losses with ${threads} threads`);
  }

  // The plain loop: no micro-batches, no pool, no reduction code.
  const config: Config = base.config;
  await selectBackend('wasm', null);
  const data = await loadRunData(config);
  const reference = referenceTrain(config, data.train, resolveNormalization(config.data.normalize, data.train));
  const trained = (await readExportedModel(join(base.runDir, 'model'))).params;
  const distance = relativeDistance(trained, reference);
  assert.ok(distance < 1e-5, `relative distance to the reference loop ${distance}`);
  assert.ok(distance > 0 || trained.length > 0);
});

test('weights.bin is the sha256 the run reports', async () => {
  const dir = await tempDir();
  const r = await train(dir, 'hash', threadPoolFactory(), { cluster: { transport: 'threads', workers: 2 }, train: { epochs: 1 } });
  const { createHash } = await import('node:crypto');
  const bytes = await readFile(join(r.runDir, 'model', 'weights.bin'));
  assert.equal(createHash('sha256').update(bytes).digest('hex'), r.sha);
});

test('the step end run by the threads, range by range, gives the bits of the coordinator (and only plain SGD goes there)', async () => {
  const dir = await tempDir();
  // Plain SGD, as the shipped configs train (smallConfig has momentum).
  const plain = { train: { epochs: 2, microBatches: 4, momentum: 0 } };
  const base = await train(dir, 'in-process', createInProcessPool, plain);
  for (const threads of [1, 2, 3]) {
    const ranges = new Set<string>();
    // stepEndMin 1: the CNN's 18,354 parameters go to the threads too (the default keeps it on the coordinator's thread).
    const pool = threadPoolFactory({ stepEndMin: 1, injectStepEndFault: (step, range) => void ranges.add(`${step}/${range}`) });
    const r = await train(dir, `step-end-${threads}`, pool, { cluster: { transport: 'threads', workers: threads }, ...plain });
    assert.equal(r.sha, base.sha, `${threads} threads`);
    assert.deepEqual(r.losses, base.losses);
    // 20 steps, two ranges a thread each (one thread: one of two; the coordinator's thread takes the other).
    assert.equal(ranges.size, 20 * (threads === 1 ? 1 : 2 * threads), `ranges run on ${threads} threads`);
  }
  // Momentum (smallConfig's) keeps the step end on the coordinator's thread: its buffer is not shared.
  const seen: number[] = [];
  const momentum = { train: { epochs: 1, microBatches: 4 } };
  const withMomentum = await train(dir, 'momentum-threads', threadPoolFactory({ stepEndMin: 1, injectStepEndFault: (s) => void seen.push(s) }), { cluster: { transport: 'threads', workers: 2 }, ...momentum });
  assert.equal(seen.length, 0);
  assert.equal(withMomentum.sha, (await train(dir, 'momentum-in-process', createInProcessPool, momentum)).sha);
});

test('kernel plans change no bit of a run: 2 threads and in-process, with and without TRAINER_KERNEL_PLAN=0', async () => {
  const dir = await tempDir();
  const planned = await train(dir, 'planned', threadPoolFactory(), { cluster: { transport: 'threads', workers: 2 } });
  process.env['TRAINER_KERNEL_PLAN'] = '0';
  try {
    // Threads read the variable when they start; the in-process computer when it is made.
    const engine = await train(dir, 'engine', threadPoolFactory(), { cluster: { transport: 'threads', workers: 2 } });
    const inProcess = await train(dir, 'engine-in-process', createInProcessPool);
    assert.equal(engine.sha, planned.sha);
    assert.equal(inProcess.sha, planned.sha);
    assert.deepEqual(engine.losses, planned.losses);
  } finally {
    delete process.env['TRAINER_KERNEL_PLAN'];
  }
});

test('weights and slots in plain SharedArrayBuffers (TRAINER_STEP_MEMORY=0) give the bits of the shared wasm memory, the step end on the coordinator or the threads', async () => {
  const dir = await tempDir();
  const plain = { cluster: { transport: 'threads', workers: 2 }, train: { epochs: 1, microBatches: 4, momentum: 0 } };
  const initOf = () => threadInit({ backend: 'cpu', gpu: null, model: getModel('net'), normalization: ARTICLE_NORMALIZATION, data: { train: everyByteDataset(4), val: everyByteDataset(2) }, indices: 8, slotCount: 2, evalEntries: 0, threads: 1, maxBatch: 4, warmUpSizes: [] });
  assert.ok(initOf().memory, 'a shared wasm memory by default');
  const inMemory = [await train(dir, 'memory', threadPoolFactory(), plain), await train(dir, 'memory-ranges', threadPoolFactory({ stepEndMin: 1 }), plain)];
  process.env['TRAINER_STEP_MEMORY'] = '0';
  try {
    assert.equal(initOf().memory, null, 'plain SharedArrayBuffers');
    const buffers = [await train(dir, 'buffers', threadPoolFactory(), plain), await train(dir, 'buffers-ranges', threadPoolFactory({ stepEndMin: 1 }), plain)];
    for (const [i, r] of buffers.entries()) {
      assert.equal(r.sha, inMemory[i]?.sha, `step end ${i === 0 ? 'on the coordinator' : 'on the threads'}`);
      assert.deepEqual(r.losses, inMemory[i]?.losses);
    }
  } finally {
    delete process.env['TRAINER_STEP_MEMORY'];
  }
});
