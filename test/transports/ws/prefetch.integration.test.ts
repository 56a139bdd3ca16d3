import assert from 'node:assert/strict';
import test from 'node:test';
import type { Config } from '../../../src/shared/config.js';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, trainWithWorkers, wsConfig, type Spawned } from './helpers.js';

/**
 * Trains `config` with ws workers a and b, checks the weights against the in-process run's and that
 * both exit 0, and returns each worker's prefetch counts (its last lines are out once it has exited).
 */
async function prefetchCounts(dir: string, config: Config): Promise<{ used: number; dropped: number; line: string }[]> {
  const expected = await referenceSha(config);
  const workers = new Map<string, Spawned>();
  try {
    const r = await trainWithWorkers(config, dir, ['a', 'b'], workers);
    assert.equal(r.weightsSha256, expected);
    assert.deepEqual(await Promise.all([...workers.values()].map((w) => w.exited)), [0, 0]);
    return [...workers.values()].map((w) => {
      const m = /prefetched inputs: (\d+) used by their task, (\d+) dropped/.exec(w.output());
      assert.ok(m, `a worker reports its prefetches:\n${w.output()}`);
      return { used: Number(m[1]), dropped: Number(m[2]), line: m[0] };
    });
  } finally {
    killAll([...workers.values()]);
  }
}

test('ws workers load the examples of their next task while the coordinator updates, and the weights do not change', async () => {
  const dir = await tempDir();
  // 7 steps an epoch, 6 with a next step to announce; 4 micro-batches, 2 to each worker.
  for (const c of await prefetchCounts(dir, wsConfig(dir, 'prefetch'))) {
    // 2 epochs x 6 announced steps; a late hint (the worker was already busy again) may be missed or dropped.
    assert.ok(c.used >= 6 && c.used + c.dropped <= 12, c.line);
  }
});

test('under cluster.verify 1 each worker is told the part it gets first, a copy of the first worker\'s (it was told part i, and every prefetched input was dropped)', async () => {
  const dir = await tempDir();
  for (const c of await prefetchCounts(dir, wsConfig(dir, 'prefetch-verify', { cluster: { verify: 1 } }))) {
    // Each worker computes all 4 parts of a step: its first is the hinted one, 2 epochs x 6 announced steps.
    assert.ok(c.used >= 6 && c.used > c.dropped, c.line);
  }
});
