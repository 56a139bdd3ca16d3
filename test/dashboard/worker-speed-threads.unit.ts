// A `trainer worker --threads 2` is one row whose compute time is summed over its two threads:
// its images/s computing is the worker's (one thread's speed times 2), not one thread's, and
// /metrics says how many threads its compute seconds are summed over.
import assert from 'node:assert/strict';
import test from 'node:test';
import { DashboardState, prometheusText } from '../../src/dashboard/state.js';

const live = (name: string, threads: number) => ({ worker: name, backend: 'wasm', threads, microBatches: 10, examples: 1600, computeMs: 1000, address: '127.0.0.1:1', inflight: 0, lastResultMsAgo: 5, lastHeardMsAgo: 5 });

test("a 2-thread worker's images/s computing is its two threads' together; a 1-thread worker's is its own", () => {
  const st = new DashboardState('r', 2);
  st.setWorkerSource(() => [live('1 a (2 threads)', 2), live('2 b', 1)]);
  const rows = st.snapshot().workers;
  assert.deepEqual(rows.map((w) => [w.worker, w.threads, w.imagesPerSec]), [['1 a (2 threads)', 2, 3200], ['2 b', 1, 1600]]);

  const text = prometheusText(st.snapshot());
  assert.match(text, /^# HELP trainer_worker_compute_seconds_total .*summed over its compute threads/m);
  assert.match(text, /^trainer_worker_compute_seconds_total\{worker="1 a \(2 threads\)"\} 1$/m);
  assert.match(text, /^trainer_worker_threads\{worker="1 a \(2 threads\)"\} 2$/m);
  assert.match(text, /^trainer_worker_threads\{worker="2 b"\} 1$/m);

  // The same from the step loop's statistics (no live pool).
  const fromSteps = new DashboardState('r', 2);
  const { address: _a, inflight: _i, lastResultMsAgo: _r, lastHeardMsAgo: _h, ...stats } = live('1 a (2 threads)', 2);
  fromSteps.onStepTiming({ epoch: 0, step: 0, marks: [0, 0, 0, 0, 0], workers: [stats], results: [] });
  assert.equal(fromSteps.snapshot().workers[0]?.imagesPerSec, 3200);
});
