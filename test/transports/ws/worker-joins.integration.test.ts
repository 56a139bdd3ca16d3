import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import type { PoolEvent } from '../../../src/transports/ws/pool.js';
import { quietLog, tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, referenceSha, spawnWorker, withStepHooks, wsConfig, type Spawned } from './helpers.js';

test('a worker joining mid-run gets data and weights, takes micro-batches from the next step, and the hash holds', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'joins', { train: { epochs: 3 } });
  const expected = await referenceSha(config);
  const workers: Spawned[] = [];
  const names = new Map<string, string>();
  const tasks: Extract<PoolEvent, { kind: 'task' }>[] = [];
  let url = '';
  let inFlight: number | null = null;
  let readyDuring: number | null | undefined;
  let stepsBefore = 0;
  const ws = loopbackWsPool({
    minWorkers: 1,
    onListening: (u) => {
      url = u;
      workers.push(spawnWorker(u, dir, 'first'));
    },
    extra: {
      onEvent: (e) => {
        if (e.kind === 'ready') names.set(e.worker, e.name);
        if (e.kind === 'ready' && e.name === 'late') readyDuring = inFlight;
        if (e.kind === 'task') tasks.push(e);
      },
    },
  });
  // The late worker starts after step 2; step 12 waits for it, so it joins mid-run however fast the machine.
  const createPool: PoolFactory = async (ctx) => {
    const pool = await ws(ctx);
    const wrapped = withStepHooks(
      pool,
      async (step) => {
        if (step === 2) workers.push(spawnWorker(url, dir, 'late'));
        while (step === 12 && pool.size < 2) await new Promise((r) => setTimeout(r, 10));
        if (readyDuring === undefined) stepsBefore = step;
        inFlight = step;
      },
      () => {
        inFlight = null;
      },
    );
    return wrapped;
  };
  try {
    const r = await runTraining({ config, resume: false, log: quietLog, createPool });
    assert.equal(r.weightsSha256, expected);
    assert.notEqual(readyDuring, undefined, 'the late worker became ready');
    const late = tasks.filter((e) => names.get(e.worker) === 'late');
    assert.ok(late.length > 0, 'the late worker computed');
    const first = (late[0] as (typeof late)[0]).step;
    // Ready during step k: work from step k + 1. Ready between steps: work from the next one.
    if (readyDuring !== null && readyDuring !== undefined) assert.equal(first, readyDuring + 1);
    else assert.equal(first, stepsBefore + 1);
  } finally {
    killAll(workers);
  }
});
