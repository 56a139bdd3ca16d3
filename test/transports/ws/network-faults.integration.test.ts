/**
 * A real network's faults, made by the kernel: the coordinator and its worker processes run in a
 * network namespace of the test's own (its loopback only: nothing leaves it).
 * - A partition: nft drops every packet of the workers' connections for a while, as a cut cable or
 *   a dead switch would. Unlike a stopped process (worker-silent-coordinator's SIGSTOP, whose
 *   kernel still acknowledges and accepts connections), nothing answers: writes stay
 *   unacknowledged in the socket, no close arrives, and a new connection's SYN goes unanswered
 *   until the link heals.
 * - A slow, lossy link: the loopback shaped to 8 Mbit/s (tc's token bucket) with Ethernet's MTU,
 *   and nft dropping 3 % of the packets each way, which TCP sends again.
 *
 * Needs root (a namespace, tc, nft): skipped, saying why, where it cannot make them.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Config } from '../../../src/shared/config.js';
import { modelSha, tempDir } from '../../helpers.js';
import { TOKEN, killAll, referenceSha, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from './helpers.js';

const PORT = 9000;

/**
 * The namespace's nft table that cuts the coordinator's port off: every packet to or from it is
 * dropped, both ways, new connections' SYNs too. (A rule by the workers' group, tried first, let
 * a worker's reset through when it dropped its link: the coordinator then knew.)
 */
const PARTITION = `table inet partition {
  chain out { type filter hook output priority 0; tcp dport ${PORT} drop; tcp sport ${PORT} drop; }
}
`;

/** Drops 3 % of the packets to and from the coordinator's port, counting them. */
const LOSSY = `table inet lossy {
  chain out { type filter hook output priority 0; tcp dport ${PORT} numgen random mod 100 < 3 counter drop; tcp sport ${PORT} numgen random mod 100 < 3 counter drop; }
}
`;

/** A fresh network namespace with its loopback up (with Ethernet's MTU), or why none can be made here. */
function makeNamespace(name: string): string | null {
  const run = (args: string[], input?: string) => spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  const made = run(['ip', 'netns', 'add', name]);
  if (made.error || made.status !== 0) return `cannot make a network namespace (ip netns add: ${made.error?.message ?? made.stderr.trim()}): needs root and iproute2`;
  const up = run(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up', 'mtu', '1500']);
  // Both tables, loaded and taken out again: a kernel without what they use skips here, not mid-run.
  const nft = run(['ip', 'netns', 'exec', name, 'nft', '-f', '-'], `${PARTITION}${LOSSY}delete table inet partition\ndelete table inet lossy\n`);
  if (up.status !== 0 || nft.error || nft.status !== 0) {
    run(['ip', 'netns', 'del', name]);
    return `cannot run nft in a network namespace (${nft.error?.message ?? (nft.stderr.trim() || up.stderr.trim())}): needs the nftables package`;
  }
  return null;
}

const nft = (ns: string, args: string[], input?: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { ...(input !== undefined ? { input } : {}) });

/**
 * `config`'s run (its folder `dir`) in namespace `ns`: a coordinator on PORT, then two worker
 * processes, a and b, once it listens. Their processes go in `procs` (the caller kills what is left).
 */
async function startInNamespace(ns: string, dir: string, config: Config, procs: Spawned[]): Promise<{ coordinator: Spawned; workers: Spawned[] }> {
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const through = ['ip', 'netns', 'exec', ns];
  const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(PORT)], { TRAINER_TOKEN: TOKEN }, { through });
  procs.push(coordinator);
  await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
  const workers = ['a', 'b'].map((name) => spawnWorker(`127.0.0.1:${PORT}`, dir, name, ['--retry-for-ms', '60000'], TOKEN, { through }));
  procs.push(...workers);
  return { coordinator, workers };
}

/** 2,000 examples: 32 steps an epoch, 0.3-0.6 s an epoch here: the cut lands after epoch 1, well before the end. */
function partitionConfig(dir: string, stepTimeoutMs: number) {
  return wsConfig(dir, 'partition', {
    data: { synthetic: { trainSize: 2000, valSize: 100 } },
    train: { epochs: 6 },
    eval: { every: 6 },
    cluster: { heartbeatMs: 500, stepTimeoutMs, noWorkerTimeoutMs: 120_000 },
  });
}

/**
 * A coordinator and two worker processes in a namespace of their own (`ns`), cut off from each other
 * after epoch 1 until both workers have dropped their silent links, and 3 s more (their new
 * connections' SYNs unanswered meanwhile). `stepTimeoutMs`: how long a worker busy on a task may
 * stay silent. Checks the run ends with weights of sha256 `expected`, and returns the
 * coordinator's output and how long after the heal it ended.
 */
async function partitionedRun(ns: string, stepTimeoutMs: number, expected: string): Promise<{ coordinator: string; endedAfterHealMs: number; cutMs: number }> {
  const procs: Spawned[] = [];
  try {
    const dir = await tempDir();
    const config = partitionConfig(dir, stepTimeoutMs);
    const { coordinator, workers } = await startInNamespace(ns, dir, config, procs);
    await waitFor('epoch 1 to end', () => / Epoch 1, /.test(coordinator.output()));

    nft(ns, ['-f', '-'], PARTITION);
    const cutAt = performance.now();
    // 4 heartbeats are 2 s: the floor of 10 s applies.
    for (const w of workers) await waitFor('each worker to drop its silent link', () => /lost \(no word from the coordinator for 10 s\)/.test(w.output()), 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    nft(ns, ['delete', 'table', 'inet', 'partition']);
    const healedAt = performance.now();

    assert.equal(await coordinator.exited, 0, coordinator.output());
    const endedAfterHealMs = performance.now() - healedAt;
    assert.equal(await modelSha(join(config.run.dir, config.run.name)), expected);
    for (const w of workers) assert.equal(await w.exited, 0, w.output());
    return { coordinator: coordinator.output(), endedAfterHealMs, cutMs: healedAt - cutAt };
  } finally {
    killAll(procs);
  }
}

// Each waits on the cut (25 s or so): side by side, each in its own namespace.
describe('a real network', { concurrency: true }, () => {
  const namespaces: string[] = [];
  /** A namespace for one test, or why there can be none (the test then skips). */
  const namespace = (t: TestContext, suffix: string): string | null => {
    const ns = `trainer-partition-${process.pid}-${suffix}`;
    const why = makeNamespace(ns);
    if (why !== null) {
      t.skip(why);
      return null;
    }
    namespaces.push(ns);
    return ns;
  };
  after(() => {
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  });
  /**
   * The weights of the run undisturbed, in-process (timeouts change no bits), trained before the
   * tests start: in this process two wasm backends starting at once fail.
   */
  let expected = '';
  let expectedSlow = '';
  before(async () => {
    expected = await referenceSha(partitionConfig(await tempDir(), 60_000));
    expectedSlow = await referenceSha(wsConfig(await tempDir(), 'slow'));
  });

  test('every worker cut off mid-run (packets dropped, no close, SYNs unanswered), past its task\'s limit: the coordinator drops them, they drop their link and rejoin once it heals, and the run ends bit-identical', async (t) => {
    const ns = namespace(t, 'dropped');
    if (ns === null) return;
    // A worker busy on a task cannot answer pings: the task's limit, 5 s, is how soon it is dropped.
    const r = await partitionedRun(ns, 5000, expected);
    assert.equal((r.coordinator.match(/gone \(4504 [^)]*\); /g) ?? []).length, 2, r.coordinator);
    // Both came back after the cut (ready again), and the run went on with them.
    const afterCut = r.coordinator.slice(r.coordinator.indexOf('gone (4504'));
    assert.ok((afterCut.match(/ ready; \d+ workers?\n/g) ?? []).length >= 2, `both workers ready again after the cut:\n${r.coordinator}`);
    t.diagnostic(`cut for ${Math.round(r.cutMs)} ms; the run ended ${Math.round(r.endedAfterHealMs)} ms after the link healed`);
  });

  test('every worker cut off mid-run for less than its task\'s limit (60 s, the default): they reconnect once it heals and the run goes on at once, with their copies of the held tasks, not at the limit', async (t) => {
    const ns = namespace(t, 'held');
    if (ns === null) return;
    const r = await partitionedRun(ns, 60_000, expected);
    assert.doesNotMatch(r.coordinator, /gone \(4504/, 'nobody was dropped for the task limit');
    // The old connections end once the link is back (their peers reset them).
    assert.equal((r.coordinator.match(/gone \(1006 connection lost\); /g) ?? []).length, 2, r.coordinator);
    // 4 more epochs take 2-4 s here; the task limit would have held the run 45 s more.
    assert.ok(r.endedAfterHealMs < 30_000, `ended ${Math.round(r.endedAfterHealMs)} ms after the heal:\n${r.coordinator}`);
    t.diagnostic(`cut for ${Math.round(r.cutMs)} ms; the run ended ${Math.round(r.endedAfterHealMs)} ms after the link healed`);
  });

  test('a slow, lossy link (8 Mbit/s, 3 % of packets lost each way): the workers join, train and leave, and the run ends bit-identical', async (t) => {
    const ns = namespace(t, 'slow');
    if (ns === null) return;
    const tc = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '8mbit', 'burst', '32kb', 'latency', '2s'], { encoding: 'utf8' });
    if (tc.error || tc.status !== 0) return t.skip(`cannot shape the link (tc qdisc tbf: ${tc.error?.message ?? tc.stderr.trim()})`);
    nft(ns, ['-f', '-'], LOSSY);
    const dir = await tempDir();
    const config = wsConfig(dir, 'slow');
    const procs: Spawned[] = [];
    try {
      const { coordinator, workers } = await startInNamespace(ns, dir, config, procs);
      assert.equal(await coordinator.exited, 0, coordinator.output());
      for (const w of workers) assert.equal(await w.exited, 0, w.output());
      assert.equal(await modelSha(join(config.run.dir, config.run.name)), expectedSlow);
      // The link was what it says: a step's 440 kB at 1 MB/s, about 140 images/s (thousands unshaped).
      const rates = [...coordinator.output().matchAll(/Epoch \d+, Training loss [\d.]+, (\d+) images\/s/g)].map((m) => Number(m[1]));
      assert.equal(rates.length, 2, coordinator.output());
      assert.ok(rates.every((r) => r < 400), `images/s ${rates.join(', ')}`);
      const lost = [...nft(ns, ['list', 'table', 'inet', 'lossy']).toString().matchAll(/packets (\d+)/g)].map((m) => Number(m[1]));
      assert.ok(lost.every((n) => n > 0), `packets dropped each way: ${lost.join(', ')}`);
      t.diagnostic(`images/s ${rates.join(', ')}; packets dropped each way ${lost.join(', ')}`);
    } finally {
      killAll(procs);
    }
  });
});
