// The dashboard says when the workers computing mix backend kinds: their weights hash will not
// match a run on one backend.
import assert from 'node:assert/strict';
import test from 'node:test';
import { DashboardState } from '../../src/dashboard/state.js';
import { DASHBOARD_PAGE } from '../../src/dashboard/page.js';

const worker = (name: string, backend: string) => ({ worker: name, backend, microBatches: 1, examples: 16, computeMs: 2, address: '127.0.0.1:1', threads: 1, inflight: 0, lastResultMsAgo: 5, lastHeardMsAgo: 5 });

test('status.json lists the backend kinds of the workers, and the page says "parity: mixed backends" for more than one', () => {
  const st = new DashboardState('r', 2);
  st.setWorkerSource(() => [worker('a', 'wasm'), worker('b', 'wasm')]);
  assert.deepEqual(st.snapshot().backends, ['wasm']);
  st.setWorkerSource(() => [worker('a', 'wasm'), worker('b', 'webgpu nvidia-h200')]);
  assert.deepEqual(st.snapshot().backends, ['wasm', 'webgpu nvidia-h200']);
  assert.match(DASHBOARD_PAGE, /st\.backends\.length > 1 \? ' · parity: mixed backends \('/);
});
