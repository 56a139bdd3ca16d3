// `trainer worker --threads 2`: one connection per machine with two compute threads behind it.
// Two such workers train to the hash of one thread in one process, the coordinator sees each as
// one worker with 2 threads, and the weights cross the wire once per machine, not once per thread.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Config } from '../../../src/shared/config.js';
import type { WsPool } from '../../../src/transports/ws/pool.js';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, trainWithWorkers, wsConfig, type Spawned } from './helpers.js';

/** Trains over `machines` worker processes with `threads` each; bytes per step on the wire, steady state. */
async function train(config: Config, dir: string, machines: number, threads: number, spawned: Map<string, Spawned>) {
  let pool: WsPool | undefined;
  const marks: { step: number; out: number; in: number }[] = [];
  let labels: string[] = [];
  const names = Array.from({ length: machines }, (_, i) => `${config.run.name}-${i}`);
  const r = await trainWithWorkers(config, dir, names, spawned, {}, ['--threads', String(threads)], {
    onPool: (p) => (pool = p),
    onStepTiming: (t) => {
      const w = (pool as WsPool).wireBytes();
      marks.push({ step: t.step, out: w.out, in: w.in });
      labels = t.workers.map((s) => s.worker);
    },
  });
  // From the second step on: the dataset and first weights are behind.
  const [a, b] = [marks[1], marks.at(-1)];
  if (!a || !b) throw new Error('no steps');
  const steps = b.step - a.step;
  return { sha: r.weightsSha256, outPerStep: (b.out - a.out) / steps, inPerStep: (b.in - a.in) / steps, labels };
}

test('two workers with --threads 2 give the single-thread hash, show as 2 threads each, and get the weights once per machine', async (t) => {
  const dir = await tempDir();
  const spawned = new Map<string, Spawned>();
  try {
    const config = wsConfig(dir, 'threaded', { cluster: { workers: 2 }, eval: { every: 2, batchSize: 50 } });
    const expected = await referenceSha(config);
    const threaded = await train(config, dir, 2, 2, spawned);
    assert.equal(threaded.sha, expected);
    for (const w of spawned.values()) assert.match(w.output(), /2 compute threads, backend wasm/);
    assert.equal(threaded.labels.length, 2);
    for (const l of threaded.labels) assert.match(l, /\(2 threads\)$/);

    const single = await train(wsConfig(dir, 'single', { cluster: { workers: 4 } }), dir, 4, 1, spawned);
    assert.equal(single.sha, expected, 'four single-thread workers: the same hash');
    t.diagnostic(`bytes per step, 2 machines x 2 threads: ${Math.round(threaded.outPerStep)} out, ${Math.round(threaded.inPerStep)} in`);
    t.diagnostic(`bytes per step, 4 single-thread workers: ${Math.round(single.outPerStep)} out, ${Math.round(single.inPerStep)} in`);
    // Weights go to each connection once a step: half the connections, about half the bytes out.
    assert.ok(threaded.outPerStep < 0.6 * single.outPerStep, `${threaded.outPerStep} vs ${single.outPerStep}`);
  } finally {
    killAll([...spawned.values()]);
  }
});
