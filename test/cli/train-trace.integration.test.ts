import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { ChromeTrace } from '../../src/cli/trace.js';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('--trace writes a Chrome trace with one step span per step, its phases, and per-worker compute spans', async () => {
  const dir = await tempDir();
  const file = join(dir, 'trace.json');
  // 320 images in batches of 64: 5 steps per epoch, 2 epochs; 2 worker threads
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'trace', 2), '--threads', '2', '--trace', file, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const trace = JSON.parse(await readFile(file, 'utf8')) as ChromeTrace;
  const spans = trace.traceEvents.filter((e) => e.ph === 'X');
  const named = (n: string) => spans.filter((e) => e.name === n);
  const steps = named('step');
  assert.equal(steps.length, 10);
  assert.deepEqual(steps.map((s) => s.args?.step), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const phase of ['plan', 'dispatch-wait', 'reduce', 'update', 'publish']) assert.equal(named(phase).length, 10, phase);
  assert.equal(named('evaluate').length, 2);
  for (const e of spans) {
    assert.ok(Number.isFinite(e.ts) && e.ts >= 0, `${e.name} ts ${e.ts}`);
    assert.ok(typeof e.dur === 'number' && e.dur >= 0, `${e.name} dur ${e.dur}`);
  }
  // every phase lies within its step
  steps.forEach((s, i) => {
    for (const phase of ['plan', 'publish']) {
      const p = named(phase)[i]!;
      assert.ok(p.ts >= s.ts - 1e-3 && p.ts + p.dur! <= s.ts + s.dur! + 1e-3, `${phase} of step ${i}`);
    }
  });
  const compute = named('compute');
  const workerTracks = new Set(compute.map((e) => e.tid));
  assert.ok(workerTracks.size >= 1 && workerTracks.size <= 2, `${workerTracks.size} worker tracks`);
  const microBatches = compute.reduce((s, e) => s + (e.args?.microBatches as number), 0);
  assert.equal(microBatches, 40, 'every micro-batch of every step is on some worker track');
  const names = trace.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
  assert.ok(names.includes('coordinator'));
  assertTimedMicroBatches(trace, 40);
});

/** Per micro-batch: a transfer out, a compute and a transfer back, in that order and inside their step. */
function assertTimedMicroBatches(trace: ChromeTrace, microBatches: number): void {
  const spans = trace.traceEvents.filter((e) => e.ph === 'X');
  const steps = spans.filter((e) => e.name === 'step');
  const compute = spans.filter((e) => e.name === 'compute');
  const transfer = spans.filter((e) => e.name === 'transfer');
  assert.equal(compute.length, microBatches);
  assert.equal(transfer.length, 2 * microBatches);
  const slack = 1000; // µs: clocks of threads and processes are read at slightly different moments
  for (const c of compute) {
    const step = steps.find((s) => s.args?.step === c.args?.step)!;
    assert.ok(c.ts >= step.ts - slack && c.ts + c.dur! <= step.ts + step.dur! + slack, `compute of step ${c.args?.step} inside its step`);
    assert.ok(transfer.some((t) => t.tid === c.tid && Math.abs(t.ts + t.dur! - c.ts) < 1), 'a transfer ends where the compute starts');
    assert.ok(transfer.some((t) => t.tid === c.tid && Math.abs(t.ts - (c.ts + c.dur!)) < 1), 'a transfer starts where the compute ends');
  }
}

test('--trace with WebSocket worker processes draws transfer and compute spans per micro-batch', async () => {
  const dir = await tempDir();
  const file = join(dir, 'trace.json');
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'trace-ws', 1), '--procs', '2', '--trace', file, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const trace = JSON.parse(await readFile(file, 'utf8')) as ChromeTrace;
  assertTimedMicroBatches(trace, 20);
});
