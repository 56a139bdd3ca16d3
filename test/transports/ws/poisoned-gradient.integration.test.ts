import assert from 'node:assert/strict';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, spawnRogue, spawnWorker, trainOverWs, wsConfig, type Spawned } from './helpers.js';

function observe() {
  const names = new Map<string, string>();
  const closes: { name: string; code: number }[] = [];
  return {
    closes,
    onEvent: (e: import('../../../src/transports/ws/pool.js').PoolEvent) => {
      if (e.kind === 'ready') names.set(e.worker, e.name);
      if (e.kind === 'evicted' && e.code !== CLOSE.shutdown) closes.push({ name: names.get(e.worker) ?? '?', code: e.code });
    },
  };
}

// Two honest workers: with one, a poisoner lying from its first result cannot be told from an
// honest worker measured against its norms (dispatch-verify.test.ts: neither is evicted then).
test('without verification, a worker sending 3e38 everywhere is refused and named, and the run ends at the reference hash', async () => {
  const dir = await tempDir();
  const base = wsConfig(dir, 'poisoned', { train: { epochs: 1 }, eval: { every: 1 } });
  const config = { ...base, cluster: { ...base.cluster, workers: 3 } };
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const seen = observe();
  try {
    const r = await trainOverWs(config, {
      minWorkers: 3,
      spawn: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnWorker(u, dir, 'honest2'), spawnRogue(u, dir, 'huge', 'poisoner')),
      log: (l) => lines.push(l),
      extra: { onEvent: seen.onEvent },
    });
    assert.equal(r.weightsSha256, expected);
    assert.deepEqual(seen.closes, [{ name: 'poisoner', code: CLOSE.banned }], 'the honest worker is never evicted');
    assert.ok(lines.some((l) => /^worker \S+ \(poisoner\) evicted and refused for the rest of the run: a gradient norm .* times the other workers' median/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});

test('over ws, train.lr 1e308 stops at once with E_DIVERGED and evicts no honest worker', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'lr-huge', { train: { lr: 1e308 } });
  const procs: Spawned[] = [];
  const seen = observe();
  try {
    await assert.rejects(
      trainOverWs(config, {
        minWorkers: 2,
        spawn: (u) => procs.push(spawnWorker(u, dir, 'a'), spawnWorker(u, dir, 'b')),
        extra: { onEvent: seen.onEvent },
      }),
      (e) => isTrainerError(e, 'E_DIVERGED') && /step 1 makes weights non-finite/.test(e.message),
    );
    assert.deepEqual(seen.closes, []);
  } finally {
    killAll(procs);
  }
});
