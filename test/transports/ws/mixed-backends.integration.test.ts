// A run whose workers compute on different backends is allowed, and says so: the coordinator's
// log when such a worker joins, the epoch line, and metrics.jsonl's backends.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, killAll, spawnMain, spawnRogue, spawnWorker, startBarePool, trainOverWs, waitFor, wsConfig, type Spawned } from './helpers.js';

test('a wasm worker and a cpu worker train together, and the run says "parity: mixed backends"', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'mixed', { data: { synthetic: { trainSize: 64, valSize: 32 } }, train: { epochs: 1 }, eval: { every: 1, batchSize: 32 } });
  const spawned: Spawned[] = [];
  const lines: string[] = [];
  try {
    const r = await trainOverWs(config, {
      minWorkers: 2,
      spawn: (url) => spawned.push(spawnWorker(url, dir, 'fast', ['--backend', 'wasm']), spawnWorker(url, dir, 'slow', ['--backend', 'cpu'])),
      log: (l) => lines.push(l),
    });
    assert.ok(r.weightsSha256);
    assert.ok(lines.some((l) => /^parity: mixed backends \((cpu, wasm|wasm, cpu)\)/.test(l)), lines.join('\n'));
  } finally {
    killAll(spawned);
  }
});

test('workers of two backend kinds whose results are both used: the epoch line and metrics.jsonl say "mixed backends"', async () => {
  // A cpu worker is some hundred times slower than wasm here: the idle wasm worker computes its
  // micro-batches first (a slow part goes to an idle worker of another kind without verification),
  // and its results may all come too late to be used. One that claims another kind, computing at
  // wasm's speed, has its own results used.
  const dir = await tempDir();
  const config = wsConfig(dir, 'mixed-used', { data: { synthetic: { trainSize: 64, valSize: 32 } }, train: { epochs: 1 }, eval: { every: 1, batchSize: 32 } });
  const spawned: Spawned[] = [];
  const lines: string[] = [];
  try {
    const r = await trainOverWs(config, {
      minWorkers: 2,
      spawn: (url) => spawned.push(spawnWorker(url, dir, 'fast', ['--backend', 'wasm']), spawnRogue(url, dir, 'honest', 'other', { ROGUE_BACKEND: 'other-kind' })),
      log: (l) => lines.push(l),
    });
    const metrics = await new RunFolder(r.runDir).readMetrics();
    assert.deepEqual(metrics.at(-1)?.backends, ['other-kind', 'wasm']);
    assert.ok(lines.some((l) => /Epoch 1, .*parity: mixed backends \(other-kind, wasm\)/.test(l)), lines.join('\n'));
  } finally {
    killAll(spawned);
  }
});

test('with cluster.verify, a worker on another backend than the two there is refused for now and retries (the kind is settled by results: verify-kinds test)', async () => {
  const dir = await tempDir();
  // The run's backend is webgpu (each worker here but the last names its own): see `broken` below.
  const { pool, url, lines } = await startBarePool(dir, { backend: 'webgpu', cluster: { ...wsConfig(dir, 'x').cluster, workers: 2, verify: 0.5 } });
  const spawned: Spawned[] = [];
  try {
    spawned.push(spawnWorker(url, dir, 'first', ['--backend', 'wasm']), spawnWorker(url, dir, 'second', ['--backend', 'wasm']));
    await waitFor('the wasm workers ready', () => pool.size === 2, 60_000);
    const other = spawnWorker(url, dir, 'other', ['--backend', 'cpu']);
    spawned.push(other);
    await waitFor('the coordinator to refuse it for now', () =>
      lines.some((l) => /^worker w\d+-[0-9a-f]{4} \(other\) refused for now: cluster\.verify: this run computes on wasm so far \(settled when two workers agree\); retrying$/.test(l)),
    60_000);
    await waitFor('the worker to say it retries', () => /retrying/.test(other.output()), 10_000);
    assert.equal(other.child.exitCode, null, 'it is still trying');
    assert.equal(pool.size, 2);

    // A worker whose backend fails to load once welcomed (the run's webgpu, on an adapter this
    // machine lacks) is named in the coordinator's log. (A worker's own --backend, or a --gpu no GPU
    // backend can take, fails at start, before it connects: worker-backend-at-start.)
    const broken = spawnMain(['worker', '--connect', url.replace(/^ws:\/\//, ''), '--name', 'broken', '--retry-for-ms', '1'], {
      TRAINER_CACHE_DIR: join(dir, 'cache', 'broken'),
      TRAINER_TOKEN: TOKEN,
      TRAINER_WEBGPU_ADAPTER: 'no-such-gpu',
    });
    spawned.push(broken);
    assert.notEqual(await broken.exited, 0, broken.output());
    assert.match(broken.output(), /E_BACKEND/);
    await waitFor('the coordinator to name it', () => lines.some((l) => /^worker w\d+-[0-9a-f]{4} \(broken\) left while joining \(\d+ .+\)$/.test(l)), 10_000);
  } finally {
    killAll(spawned);
    await pool.close();
  }
});
