import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TraceEvent } from '../../src/cli/trace.js';
import { balanceOf, readTrace } from '../../scripts/trace-balance.js';
import { tempDir } from '../helpers.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/trace-balance.js', import.meta.url));

const track = (tid: number, name: string): TraceEvent => ({ name: 'thread_name', ph: 'M', pid: 1, tid, ts: 0, args: { name } });
const compute = (tid: number, step: number, fromUs: number, toUs: number): TraceEvent => ({
  name: 'compute',
  ph: 'X',
  pid: 1,
  tid,
  ts: fromUs,
  dur: toUs - fromUs,
  args: { step, microBatches: 1, examples: 16 },
});

// Two steps of 4 micro-batches: worker 1 takes 2 ms a micro-batch, worker 2 3 ms (step 0) and
// 2 ms (step 1); a second track of worker 2 (as a remote worker's overlapping spans get) counts as
// worker 2; a wait span on a compute track is not compute.
const EVENTS: TraceEvent[] = [
  track(5, 'worker thread-1'),
  track(6, 'worker thread-2'),
  track(7, 'worker thread-2 (2)'),
  compute(5, 0, 0, 2000),
  compute(5, 0, 2000, 4000),
  compute(6, 0, 0, 3000),
  compute(7, 0, 3000, 6000),
  { name: 'wait', ph: 'X', pid: 1, tid: 5, ts: 4000, dur: 2000, args: { step: 0 } },
  compute(5, 1, 6500, 8500),
  compute(5, 1, 8500, 10500),
  compute(5, 1, 10500, 12500),
  compute(6, 1, 6500, 8500),
];

test('trace-balance: the split, the barrier wait, the boundary and the bound of divisible work, per step', () => {
  const b = balanceOf(EVENTS, 0);
  assert.ok(b !== null);
  assert.equal(b.steps, 2);
  assert.deepEqual(b.splits, { '2/2': 1, '3/1': 1 });
  // spans 6 and 6 ms; waits 2 and 4 ms; boundary 0.5 ms
  assert.equal(b.spanMs, 6);
  assert.equal(b.waitMs.mean, 3);
  assert.equal(b.boundaryMs.mean, 0.5);
  // step 0: 4 micro-batches at 1/2 + 1/3 a ms: 4.8 ms; step 1: 4 at 1/2 + 1/2: 4 ms
  assert.ok(Math.abs(b.divisibleMs - 4.4) < 1e-9, String(b.divisibleMs));
  assert.equal(b.microBatchMs.median, 2);
  assert.equal(b.microBatchMs.p90, 3);
  assert.equal(balanceOf(EVENTS, 1)?.steps, 1);
  assert.equal(balanceOf(EVENTS, 2), null);
});

test('trace-balance reads the trace of a killed run (no closing bracket) and says what it found', async () => {
  const dir = await tempDir();
  const whole = JSON.stringify(EVENTS);
  const killed = `${whole.slice(0, whole.lastIndexOf(']'))},\n`;
  assert.equal(readTrace(killed).length, EVENTS.length);
  const file = join(dir, 'trace.json');
  await writeFile(file, killed);
  const r = spawnSync(process.execPath, [SCRIPT, file, '--from-step', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /steps from 0: 2; micro-batches per worker: 2\/2 in 1, 3\/1 in 1/);
  assert.match(r.stdout, /finer sharing could win at most 36\.4 % of the span/);
  const none = spawnSync(process.execPath, [SCRIPT, file], { encoding: 'utf8' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no compute spans from step 200 on/);
  const usage = spawnSync(process.execPath, [SCRIPT, file, '--from-step', 'x'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /^usage: /);
});
