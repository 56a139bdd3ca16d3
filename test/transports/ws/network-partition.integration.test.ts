/**
 * A real network partition, made by the kernel: the coordinator and its worker processes run in a
 * network namespace of this test's own (its loopback only: nothing leaves it), and nft drops every
 * packet of the workers' connections for a while, as a cut cable or a dead switch would. Unlike a
 * stopped process (worker-silent-coordinator's SIGSTOP, whose kernel still acknowledges and accepts
 * connections), nothing answers: writes stay unacknowledged in the socket, no close arrives, and a
 * new connection's SYN goes unanswered until the link heals.
 *
 * Needs root (a namespace, nft): skipped, saying why, where it cannot make them.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
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

/** A fresh network namespace with its loopback up, or why none can be made here. */
function makeNamespace(name: string): string | null {
  const run = (args: string[], input?: string) => spawnSync(args[0] as string, args.slice(1), { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  const made = run(['ip', 'netns', 'add', name]);
  if (made.error || made.status !== 0) return `cannot make a network namespace (ip netns add: ${made.error?.message ?? made.stderr.trim()}): needs root and iproute2`;
  const up = run(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  const nft = run(['ip', 'netns', 'exec', name, 'nft', 'list', 'ruleset']);
  if (up.status !== 0 || nft.error || nft.status !== 0) {
    run(['ip', 'netns', 'del', name]);
    return `cannot run nft in a network namespace (${nft.error?.message ?? (nft.stderr.trim() || up.stderr.trim())}): needs the nftables package`;
  }
  return null;
}

const nft = (ns: string, args: string[], input?: string) => execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { ...(input !== undefined ? { input } : {}) });

test('every worker cut off by a real partition mid-run (packets dropped, no close, SYNs unanswered): the coordinator drops them, they drop their link and reconnect once it heals, and the run ends bit-identical', async (t) => {
  const ns = `trainer-partition-${process.pid}`;
  const why = makeNamespace(ns);
  if (why !== null) return t.skip(why);
  const procs: Spawned[] = [];
  try {
    const dir = await tempDir();
    // 2,000 examples: 32 steps an epoch, 0.3-0.6 s an epoch here: the cut lands after epoch 1, well before the end.
    const config = wsConfig(dir, 'partition', {
      data: { synthetic: { trainSize: 2000, valSize: 100 } },
      train: { epochs: 6 },
      eval: { every: 6 },
      // A worker busy on a task cannot answer pings: the task's limit, 5 s, is how soon it is dropped.
      cluster: { heartbeatMs: 500, stepTimeoutMs: 5000, noWorkerTimeoutMs: 120_000 },
    });
    const expected = await referenceSha(config);
    const file = join(dir, 'config.yaml');
    await writeFile(file, JSON.stringify(config));
    const through = ['ip', 'netns', 'exec', ns];
    const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(PORT)], { TRAINER_TOKEN: TOKEN }, { through });
    procs.push(coordinator);
    await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
    const workers = ['a', 'b'].map((name) => spawnWorker(`127.0.0.1:${PORT}`, dir, name, ['--retry-for-ms', '60000'], TOKEN, { through }));
    procs.push(...workers);
    await waitFor('epoch 1 to end', () => / Epoch 1, /.test(coordinator.output()));

    nft(ns, ['-f', '-'], PARTITION);
    const cutAt = performance.now();
    // Each is dropped as silent (3 heartbeats) or as holding a task past its 5 s.
    await waitFor('the coordinator to drop both workers', () => (coordinator.output().match(/gone \(4504 [^)]*\); /g) ?? []).length >= 2, 30_000);
    // 4 heartbeats are 2 s: the floor of 10 s applies.
    for (const w of workers) await waitFor('each worker to drop its silent link', () => /lost \(no word from the coordinator for 10 s\)/.test(w.output()), 30_000);
    // Their new connections' SYNs go unanswered for a while before the link heals.
    await new Promise((r) => setTimeout(r, 3000));
    nft(ns, ['delete', 'table', 'inet', 'partition']);
    const healedAt = performance.now();

    assert.equal(await coordinator.exited, 0, coordinator.output());
    // Both came back after the cut (ready again), and the run went on with them.
    const afterCut = coordinator.output().slice(coordinator.output().indexOf('gone (4504'));
    assert.ok((afterCut.match(/ ready; \d+ workers?\n/g) ?? []).length >= 2, `both workers ready again after the cut:\n${coordinator.output()}`);
    const runDir = join(config.run.dir, config.run.name);
    const sha = createHash('sha256').update(await readFile(join(runDir, 'model', 'weights.bin'))).digest('hex');
    assert.equal(sha, expected);
    for (const w of workers) assert.equal(await w.exited, 0, w.output());
    t.diagnostic(`cut for ${Math.round(healedAt - cutAt)} ms; the run ended ${Math.round(performance.now() - healedAt)} ms after the link healed`);
  } finally {
    killAll(procs);
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
