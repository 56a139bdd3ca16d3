import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, referenceSha, spawnRogue, spawnWorker, waitFor, withStepHooks, wsConfig, type Spawned } from './helpers.js';

const STEP_TIMEOUT_MS = 2000;

test('a worker that takes tasks and never answers holds no step up to its timeout, rejoins only after a growing backoff, and is refused after repeated stalls', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'stalled', {
    train: { epochs: 2 },
    // A back-off it can come back inside on a loaded machine (it reconnects 100 ms after its
    // eviction; 300 ms left the close, the new socket and its hello 200 ms: bad-results' flake).
    cluster: { stepTimeoutMs: STEP_TIMEOUT_MS, heartbeatMs: 500, stallBackoffMs: 1000, maxStalls: 2 },
  });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const saw = (re: RegExp) => lines.some((l) => re.test(l));
  const ready = () => lines.filter((l) => /\(staller, backend \S+\) ready/.test(l)).length;
  /** When each step's results were all back, and when each log line came. */
  const stepEnd = new Map<number, number>();
  const at = new Map<string, number>();
  const ws = loopbackWsPool({
    minWorkers: 2,
    onListening: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnRogue(u, dir, 'stall', 'staller')),
  });
  // Steps wait (outside their timing) for the staller's turns: its first stall, its return after the backoff, its second stall.
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(
      await ws(ctx),
      async (step) => {
        if (step === 3) await waitFor('the first stall', () => saw(/\(staller\) stalled: stall 1 of 2/));
        if (step === 4) await waitFor('the staller back', () => ready() === 2);
        if (step === 7) await waitFor('the second stall', () => saw(/\(staller\) stalled: refused for the rest of the run/));
      },
      (step) => stepEnd.set(step, performance.now()),
    );
  try {
    const log = (l: string) => {
      lines.push(l);
      if (!at.has(l)) at.set(l, performance.now());
    };
    const r = await runTraining({ config, resume: false, createPool, log });
    assert.equal(r.weightsSha256, expected);
    // Its tasks ran again on the honest worker once slow: the steps it held tasks of (0, and 4 after its
    // return; the log counts steps from 1) were done before its stall timeout evicted it, not after.
    const when = (re: RegExp) => [...at].find(([l]) => re.test(l))?.[1] ?? Number.NaN;
    assert.ok((stepEnd.get(0) as number) < when(/\(staller\) stalled: stall 1/), 'step 0 did not wait for the first stall');
    assert.ok((stepEnd.get(4) as number) < when(/\(staller\) stalled: refused/), 'step 4 did not wait for the second stall');
    assert.ok(saw(/micro-batch \d of step 5 is slow \(past \d+ ms on worker \S+ \(staller\)\): also given to worker \S+ \(honest\)/), lines.join('\n'));
    assert.ok(saw(/\(staller\) stalled: stall 1 of 2: may rejoin in 1000 ms/));
    assert.ok(saw(/\(staller\) refused: stalled 1 time\(s\): refused for another \d+ ms/), 'back too early: refused');
    await waitFor('the staller to give up', () => procs[1]?.child.exitCode !== null, 10_000);
    assert.match(procs[1]?.output() ?? '', /refuses this worker for the rest of the run \(refused for the rest of the run: 2 stalls/);
  } finally {
    killAll(procs);
  }
});

test("a worker in a stall's back-off when the run ends is told so, and exits 0 (it retried for ever: a Kubernetes Job never completed)", async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'ended-in-backoff', {
    train: { epochs: 2 },
    cluster: { stepTimeoutMs: STEP_TIMEOUT_MS, heartbeatMs: 500, stallBackoffMs: 600_000, maxStalls: 3 },
  });
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const saw = (re: RegExp) => lines.some((l) => re.test(l));
  const ws = loopbackWsPool({
    minWorkers: 2,
    // --retry-for-ms 0: once joined, a worker retries for ever (the shipped Kubernetes workers retry for 15 min).
    onListening: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnWorker(u, dir, 'sleeper', ['--retry-for-ms', '0'])),
  });
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(await ws(ctx), async (step) => {
      if (step !== 2) return;
      const sleeper = procs[1]?.child as import('node:child_process').ChildProcess;
      sleeper.kill('SIGSTOP');
      await waitFor('the stall', () => saw(/\(sleeper\) stalled: stall 1 of 3: may rejoin in 600000 ms/));
      sleeper.kill('SIGCONT');
      await waitFor('the sleeper refused', () => saw(/\(sleeper\) refused: stalled 1 time\(s\)/));
    });
  try {
    const r = await runTraining({ config, resume: false, createPool, log: (l) => lines.push(l) });
    assert.equal(r.outcome, 'finished');
    assert.ok(saw(/^listening 7\.25 s more to tell 1 worker\(s\) in a back-off that the run is over$/), lines.join('\n'));
    const sleeper = procs[1] as Spawned;
    assert.equal(await Promise.race([sleeper.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]), 0, sleeper.output());
    assert.match(sleeper.output(), /leaving: coordinator done/);
    // Said once, though each refusal names the milliseconds left.
    assert.equal(sleeper.output().match(/refused for another \d+ ms/g)?.length, 1, sleeper.output());
  } finally {
    killAll(procs);
  }
});

test('a worker not reading its socket when the run ends (busy, or stopped) hears "done" once it reads again, and exits 0: the coordinator waits for it (it wrote to a coordinator gone, whose reset discarded the "done" unread, and retried for ever)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'ended-while-busy', { train: { epochs: 2 } });
  const unblock = join(dir, 'unblock');
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const saw = (re: RegExp) => lines.some((l) => re.test(l));
  // From its 6th result on (of about 30), the busy worker reads nothing until the file exists.
  const createPool = loopbackWsPool({
    minWorkers: 2,
    onListening: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnRogue(u, dir, 'busy@6', 'busy', { ROGUE_UNBLOCK: unblock })),
  });
  const log = (l: string) => {
    lines.push(l);
    // Once the coordinator waits for it (or, failing that, once it is gone): the worker reads again.
    if (/waiting up to [\d.]+ s for worker \S+ \(busy\) to read that the run is over \(not reading: stopped\?\)$/.test(l)) writeFileSync(unblock, '');
  };
  try {
    const r = await runTraining({ config, resume: false, createPool, log });
    writeFileSync(unblock, '');
    assert.equal(r.outcome, 'finished');
    const busy = procs[1] as Spawned;
    assert.equal(await Promise.race([busy.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]), 0, busy.output());
    assert.doesNotMatch(busy.output(), /dropped/);
    assert.ok(saw(/\(busy\) to read that the run is over/), lines.join('\n'));
    assert.ok(!saw(/did not answer that the run is over/), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});
