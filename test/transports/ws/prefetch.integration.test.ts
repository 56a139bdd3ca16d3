import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, trainWithWorkers, wsConfig, type Spawned } from './helpers.js';

test('ws workers load the examples of their next task while the coordinator updates, and the weights do not change', async () => {
  const dir = await tempDir();
  // 7 steps an epoch, 6 with a next step to announce; 4 micro-batches, 2 to each worker.
  const config = wsConfig(dir, 'prefetch');
  const expected = await referenceSha(config);
  const workers = new Map<string, Spawned>();
  try {
    const r = await trainWithWorkers(config, dir, ['a', 'b'], workers);
    assert.equal(r.weightsSha256, expected);
    assert.deepEqual(await Promise.all([...workers.values()].map((w) => w.exited)), [0, 0]);
    for (const w of workers.values()) {
      const m = /prefetched inputs: (\d+) used by their task, (\d+) dropped/.exec(w.output());
      assert.ok(m, `a worker reports its prefetches:\n${w.output()}`);
      // 2 epochs x 6 announced steps; a late hint (the worker was already busy again) may be missed or dropped.
      assert.ok(Number(m[1]) >= 6 && Number(m[1]) + Number(m[2]) <= 12, m[0]);
    }
  } finally {
    killAll([...workers.values()]);
  }
});

test('under cluster.verify 1 each worker is told the part it gets first, a copy of the first worker\'s (it was told part i, and every prefetched input was dropped)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'prefetch-verify', { cluster: { verify: 1 } });
  const expected = await referenceSha(config);
  const workers = new Map<string, Spawned>();
  try {
    const r = await trainWithWorkers(config, dir, ['a', 'b'], workers);
    assert.equal(r.weightsSha256, expected);
    // Their last lines, the prefetch counts among them, are out once they have exited.
    assert.deepEqual(await Promise.all([...workers.values()].map((w) => w.exited)), [0, 0]);
    for (const w of workers.values()) {
      const m = /prefetched inputs: (\d+) used by their task, (\d+) dropped/.exec(w.output());
      assert.ok(m, `a worker reports its prefetches:\n${w.output()}`);
      // Each worker computes all 4 parts of a step: its first is the hinted one, 2 epochs x 6 announced steps.
      assert.ok(Number(m[1]) >= 6 && Number(m[1]) > Number(m[2]), m[0]);
    }
  } finally {
    killAll([...workers.values()]);
  }
});
