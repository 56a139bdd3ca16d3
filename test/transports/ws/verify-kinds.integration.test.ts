// cluster.verify compares bits, and bits agree within one backend kind: the run's kind is settled by
// the first part two workers agree on, not by what the first worker to join says it runs. A token
// holder that claimed a made-up kind and left locked every honest worker out for the run (they
// exited, refused "for the rest of the run"), and one that stayed held the kind for good.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, referenceSha, spawnRogue, spawnWorker, trainOverWs, trainWithRogueFirst, waitFor, withStepHooks, wsConfig, type Spawned } from './helpers.js';

const BOGUS = { ROGUE_BACKEND: 'made-up-backend' };

test('cluster.verify 1: a token holder claiming a made-up backend that joins first and leaves locks nobody out; the run ends at the reference hash', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'squat', { train: { epochs: 1 }, cluster: { workers: 2, verify: 1 } });
  const expected = await referenceSha(config);
  const { run, procs, lines, gone, url } = trainWithRogueFirst(config, dir, { minWorkers: 2, mode: 'squat', name: 'squatter', env: BOGUS });
  try {
    await waitFor('the squatter to join and leave', () => gone.has('squatter'), 60_000);
    procs.push(spawnWorker(url(), dir, 'a'), spawnWorker(url(), dir, 'b'));
    const r = await run;
    assert.equal(r.weightsSha256, expected);
    assert.ok(!lines.some((l) => /^worker .* refused/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => l === 'cluster.verify: results agree on backend wasm; workers on another backend are refused for the rest of the run'), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});

test('cluster.verify 1: one that claims a made-up backend and stays, sending zero gradients, is refused once two honest workers agree; the run ends at the reference hash', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'stays', { train: { epochs: 1 }, cluster: { workers: 3, verify: 1 } });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const names = new Map<string, string>();
  const ready: string[] = [];
  const closed = new Map<string, number>();
  let url = '';
  try {
    const run = trainOverWs(config, {
      minWorkers: 3,
      spawn: (u) => {
        url = u;
        procs.push(spawnRogue(u, dir, 'zero', 'squatter', BOGUS));
      },
      log: (l) => lines.push(l),
      extra: {
        onEvent: (e) => {
          if (e.kind === 'ready') (names.set(e.worker, e.name), ready.push(e.name));
          if (e.kind === 'evicted') closed.set(names.get(e.worker) ?? '?', e.code);
        },
      },
    });
    // The squatter first: its made-up kind is the run's, for now.
    await waitFor('the squatter ready', () => ready.includes('squatter'), 60_000);
    procs.push(spawnWorker(url, dir, 'a'), spawnWorker(url, dir, 'b'));
    const r = await run;
    assert.equal(r.weightsSha256, expected);
    assert.equal(closed.get('squatter'), CLOSE.banned, lines.join('\n'));
    assert.ok(!closed.has('a') || closed.get('a') === CLOSE.shutdown, lines.join('\n'));
    assert.ok(!closed.has('b') || closed.get('b') === CLOSE.shutdown, lines.join('\n'));
    assert.ok(lines.some((l) => /^cluster\.verify: results agree on backend wasm;/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});

test('cluster.verify: once two workers agree, a worker on another backend is refused for the run and exits saying why', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'kinds', { train: { epochs: 1 }, cluster: { workers: 2, verify: 1 } });
  const procs: Spawned[] = [];
  const lines: string[] = [];
  let url = '';
  const ws = loopbackWsPool({
    minWorkers: 2,
    onListening: (u) => {
      url = u;
      procs.push(spawnWorker(u, dir, 'a'), spawnWorker(u, dir, 'b'));
    },
  });
  let other: Spawned | null = null;
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(await ws(ctx), async (step) => {
      if (step !== 2) return;
      other = spawnWorker(url, dir, 'other', ['--backend', 'cpu', '--retry-for-ms', '60000']);
      procs.push(other);
      await other.exited;
    });
  try {
    await runTraining({ config, resume: false, createPool, log: (l) => lines.push(l) });
    const o = other as Spawned | null;
    assert.ok(o, 'the cpu worker was started');
    assert.equal(await o.exited, 1, o.output());
    assert.match(o.output(), /E_WORKER_LOST: the coordinator refuses this worker for the rest of the run \(cluster\.verify compares results bit for bit: this run computes on wasm, this worker on cpu\)/);
    assert.ok(lines.some((l) => /^worker w\d+-[0-9a-f]{4} \(other\) refused for the run: cluster\.verify compares results bit for bit: this run computes on wasm, this worker on cpu$/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});

test('a token holder that takes an honest worker\'s name and sends poison is refused, and a worker of that name in another process is not (bans held names alone)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'borrowed', { train: { epochs: 2 } });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const names = new Map<string, string>();
  const ready: string[] = [];
  const banned: string[] = [];
  let url = '';
  const ws = loopbackWsPool({
    minWorkers: 2,
    onListening: (u) => {
      url = u;
      // Poison from its 3rd result: from its first, with one other worker, nothing tells which of the two lies.
      procs.push(spawnWorker(u, dir, 'b'), spawnRogue(u, dir, 'huge@2', 'a'));
    },
    extra: {
      onEvent: (e) => {
        if (e.kind === 'ready') (names.set(e.worker, e.name), ready.push(e.name));
        if (e.kind === 'evicted' && e.code === CLOSE.banned) banned.push(names.get(e.worker) ?? '?');
      },
    },
  });
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(await ws(ctx), async (step) => {
      if (step !== 3) return;
      await waitFor('the poisoner refused', () => banned.includes('a'));
      procs.push(spawnWorker(url, dir, 'a'));
      await waitFor('the honest a ready', () => ready.filter((n) => n === 'a').length === 2, 60_000);
    });
  try {
    const r = await runTraining({ config, resume: false, createPool, log: (l) => lines.push(l) });
    assert.equal(r.weightsSha256, expected);
    assert.deepEqual(banned, ['a'], lines.join('\n'));
    assert.ok(!lines.some((l) => /\(a\) refused/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});

test('without verification, a worker claiming a backend kind of its own that takes tasks and never answers has them run again elsewhere, not after cluster.stepTimeoutMs', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'unique-kind', { train: { epochs: 1 }, cluster: { workers: 2, stepTimeoutMs: 60_000 } });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  try {
    const r = await trainOverWs(config, {
      minWorkers: 2,
      spawn: (u) => procs.push(spawnWorker(u, dir, 'a'), spawnRogue(u, dir, 'stall', 'holder', BOGUS)),
      log: (l) => lines.push(l),
    });
    assert.equal(r.weightsSha256, expected);
    // Its held micro-batches went to the honest worker as slow ones; no step waited 60 s for it.
    assert.ok(lines.some((l) => / is slow \(past \d+ ms on worker \S+ \(holder\)\): also given to worker \S+ \(a\)$/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /no result within/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});

test('cluster.verify 0.5: a worker claiming a made-up backend that joins first and holds its tasks keeps no honest worker out, nor holds a step for cluster.stepTimeoutMs', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'kind-hold', { train: { epochs: 1 }, cluster: { workers: 2, verify: 0.5, stepTimeoutMs: 60_000, noWorkerTimeoutMs: 15_000 } });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  let url = '';
  let spawnedA = false;
  let spawnedB = false;
  const spawnB = () => {
    if (spawnedB) return;
    spawnedB = true;
    procs.push(spawnWorker(url, dir, 'b'));
  };
  try {
    const r = await trainOverWs(config, {
      minWorkers: 2,
      spawn: (u) => {
        url = u;
        procs.push(spawnRogue(u, dir, 'stall', 'holder', BOGUS));
      },
      extra: {
        onEvent: (e) => {
          // The holder joins first: its kind is the run's for now.
          if (e.kind === 'ready' && e.name === 'holder' && !spawnedA) {
            spawnedA = true;
            procs.push(spawnWorker(url, dir, 'a'));
          }
          if (e.kind === 'ready' && e.name === 'a') setTimeout(spawnB, 2000);
        },
      },
      log: (l) => {
        lines.push(l);
        // The second honest worker comes once the first has taken a copy of a part the holder is slow
        // with (or 2 s after the first is ready: the holder may hold only parts the first computed).
        // Come then, it waited (a joiner) while a verification copy waited for the holder, full, until
        // cluster.stepTimeoutMs (a CI run).
        if (/ is slow \(past \d+ ms on worker \S+ \(holder\)\): also given to worker \S+ \(a\)$/.test(l)) spawnB();
      },
    });
    assert.equal(r.weightsSha256, expected);
    assert.ok(!lines.some((l) => /\((a|b)\) refused/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /no result within/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^worker \S+ \(holder\) refused for the run: cluster\.verify compares results bit for bit: this run computes on wasm, this worker on made-up-backend$/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});
