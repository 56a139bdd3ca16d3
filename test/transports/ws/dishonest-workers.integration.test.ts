import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, referenceSha, spawnRogue, spawnWorker, waitFor, withStepHooks, wsConfig, type Spawned } from './helpers.js';

test('cluster.verify 1: workers holding the token that send huge, zero, wrong and fake evaluation results are each named and refused, and the run ends at the reference hash and accuracy', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'verified', { eval: { every: 1, batchSize: 50 }, cluster: { workers: 4, verify: 1 } });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const names = new Map<string, string>();
  const ready = new Set<string>();
  const banned = new Set<string>();
  const evicted: string[] = [];
  let url = '';
  const ws = loopbackWsPool({
    minWorkers: 4,
    onListening: (u) => {
      url = u;
      procs.push(spawnWorker(u, dir, 'a'), spawnWorker(u, dir, 'b'), spawnRogue(u, dir, 'huge', 'liar-huge'), spawnRogue(u, dir, 'eval', 'liar-eval'));
    },
    extra: {
      onEvent: (e) => {
        if (e.kind === 'ready') (names.set(e.worker, e.name), ready.add(e.name));
        if (e.kind === 'evicted') {
          const name = names.get(e.worker) ?? '?';
          if (e.code !== CLOSE.shutdown) evicted.push(name);
          if (e.code === CLOSE.banned) banned.add(name);
        }
      },
    },
  });
  // One liar after another, each joining before the step it is to be caught in.
  const next = async (caught: string, mode: string, name: string) => {
    await waitFor(`${caught} refused`, () => banned.has(caught));
    procs.push(spawnRogue(url, dir, mode, name));
    await waitFor(`${name} ready`, () => ready.has(name));
  };
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(await ws(ctx), async (step) => {
      if (step === 2) await next('liar-huge', 'zero', 'liar-zero');
      if (step === 5) await next('liar-zero', 'wrong', 'liar-wrong');
      if (step === 8) await waitFor('liar-wrong refused', () => banned.has('liar-wrong'));
    });
  try {
    const r = await runTraining({ config, resume: false, createPool, log: (l) => lines.push(l) });
    assert.equal(r.weightsSha256, expected);
    for (const liar of ['liar-huge', 'liar-zero', 'liar-wrong', 'liar-eval']) {
      assert.ok(banned.has(liar), `${liar} refused`);
      assert.ok(lines.some((l) => /^worker \S+ /.test(l) && l.includes(`(${liar}) evicted and refused for the rest of the run: `)), `${liar} named`);
    }
    assert.ok(!evicted.includes('a') && !evicted.includes('b'), `evicted: ${evicted.join(', ')}`);
    // Fake evaluation results changed nothing either: the same accuracies as the reference run.
    const metrics = async (name: string) => (await readFile(join(config.run.dir, name, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => {
      const m = JSON.parse(l) as { trainAcc: number; valAcc: number; valLoss: number };
      return [m.trainAcc, m.valAcc, m.valLoss];
    });
    assert.deepEqual(await metrics('verified'), await metrics('verified-reference'));
    // The liar reads its ban on its own socket and says so on its own stderr, after the task it was
    // computing: neither need have reached this process by the run's end (a busy machine may not
    // have run the liar since), so it is waited for.
    await waitFor('liar-wrong to say it is refused', () => procs.some((p) => p.output().includes('[liar-wrong]') && /refuses this worker for the rest of the run/.test(p.output())));
  } finally {
    killAll(procs);
  }
});
