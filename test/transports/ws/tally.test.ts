// The coordinator's Tally driven as the dispatcher drives it, without sockets or a dispatcher: what
// a gradient's norm is measured against, step after step.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { WorkerConn } from '../../../src/transports/ws/connection.js';
import { createJob } from '../../../src/transports/ws/job.js';
import { Tally } from '../../../src/transports/ws/tally.js';
import { voteOf } from '../../../src/transports/ws/verdict.js';
import type { MicroBatchResult } from '../../../src/transports/pool.js';

const conn = (name: string) => ({ id: `w-${name}`, name, backend: 'wasm', identity: name }) as unknown as WorkerConn;

/** A gradient of 16 examples whose norm per example is `norm`. */
const gradient = (norm: number, worker: string): MicroBatchResult => {
  const g = new Float32Array(4);
  g[0] = norm * 16;
  return { lossSum: 1, correct: 0, count: 16, gradient: g, worker };
};

/**
 * Runs `steps` steps of 4 micro-batches at cluster.verify 0, each answered once: `answer(step,
 * part)` says by whom and with what norm per example. Returns the norms used, per step.
 */
function run(workers: WorkerConn[], steps: number, answer: (step: number, part: number) => { by: WorkerConn; norm: number }) {
  const bans: string[] = [];
  const used: { step: number; worker: string; norm: number }[][] = [];
  const tally = new Tally({
    verify: 0,
    maxNormRatio: 1000,
    workers: () => workers.values(),
    ban: (c, why) => void bans.push(`${c.name}: ${why}`),
    log: () => {},
    onUse: (job, part, r) => {
      const m = r as MicroBatchResult;
      (used[job.step] ??= []).push({ step: job.step, worker: m.worker, norm: (m.gradient[0] as number) / m.count });
      job.results[part.index] = r;
      if (--job.remaining === 0) job.resolve();
    },
  });
  for (let step = 0; step < steps; step++) {
    const { job, done } = createJob('grad', step, step, 'train', [0, 1, 2, 3].map(() => new Int32Array(16)), () => 1, () => {});
    done.catch(() => {});
    tally.start();
    for (const p of job.parts) {
      const { by, norm } = answer(step, p.index);
      // As the dispatcher gives it out: the copy is running, at a worker that has not had it.
      job.queue = [];
      p.queued = 0;
      p.running = 1;
      p.tried.add(by);
      tally.add(job, p, voteOf(by, gradient(norm, by.name)));
      p.running = 0;
    }
    if (!job.done) break;
    tally.stepDone();
  }
  return { used, bans };
}

test('a worker raising its gradients 900 times each step is held to cluster.maxNormRatio times the other worker\'s norms: the bound ratcheted up 1000 times a step, to 1e35 in 12 steps', () => {
  const honest = conn('honest'), evil = conn('evil');
  // Half the micro-batches each; the evil worker's norm per example is 900^(step+1).
  const { used } = run([evil, honest], 14, (step, part) => (part % 2 === 0 ? { by: evil, norm: 900 ** (step + 1) } : { by: honest, norm: 1 }));
  const highest = Math.max(...used.flat().map((u) => u.norm));
  assert.ok(highest <= 1000, `a norm per example of ${highest.toExponential(1)} was used, the honest one is 1`);
  // The evil worker's results stop being used at once: 900 passes, 900^2 does not.
  assert.deepEqual(
    used.flat().filter((u) => u.worker === 'evil').map((u) => [u.step, u.norm]),
    [[0, 900], [0, 900]],
  );
});
