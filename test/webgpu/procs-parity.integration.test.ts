// The parity promise on the GPU code path: worker processes on webgpu end with the same weights
// hash whether one or two compute, also when one of two is SIGKILLed mid-step.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { PoolEvent } from '../../src/transports/ws/pool.js';
import { tempDir } from '../helpers.js';
import { killAll, trainWithWorkers, wsConfig, type Spawned } from '../transports/ws/helpers.js';
import { webgpuSkip } from './fixtures.js';

const WEBGPU = ['--backend', 'webgpu'];

test('webgpu worker processes: two give the hash of one, also with one killed mid-step', { skip: (await webgpuSkip()) ?? false }, async () => {
  const dir = await tempDir();
  // 192 examples in batches of 64: 3 steps an epoch, 2 epochs; 4 micro-batches a step.
  const over = { data: { synthetic: { trainSize: 192, valSize: 64 } }, eval: { every: 2, batchSize: 64 }, backend: 'webgpu' };
  const workers = new Map<string, Spawned>();
  try {
    const one = await trainWithWorkers(wsConfig(dir, 'one', over), dir, ['solo'], workers, {}, WEBGPU);
    assert.ok(one.weightsSha256);
    assert.match(workers.get('solo')?.output() ?? '', /backend: webgpu \(.*\)/, 'the worker names its adapter');

    const names = new Map<string, string>();
    let killedAtStep = -1;
    const two = await trainWithWorkers(
      wsConfig(dir, 'two', over),
      dir,
      ['a', 'b'],
      workers,
      {
        onEvent: (e: PoolEvent) => {
          if (e.kind === 'ready') names.set(e.worker, e.name);
          // The moment step 2 hands worker b a micro-batch, b dies.
          if (e.kind === 'task' && e.step === 2 && names.get(e.worker) === 'b' && killedAtStep < 0) {
            killedAtStep = e.step;
            workers.get('b')?.child.kill('SIGKILL');
          }
        },
      },
      WEBGPU,
    );
    assert.equal(killedAtStep, 2, 'b was killed mid-run');
    assert.equal(two.weightsSha256, one.weightsSha256);
  } finally {
    killAll([...workers.values()]);
  }
});
