import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { TraceEvent } from '../../src/cli/trace.js';
import { balanceOf } from '../../scripts/trace-balance.js';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, spawnWorker } from '../transports/ws/helpers.js';
import { CLI, smallConfigFile, trainer } from './cli-helpers.js';

test('--trace writes a Chrome trace with one step span per step, its phases, and per-worker compute spans', async () => {
  const dir = await tempDir();
  const file = join(dir, 'trace.json');
  // 320 images in batches of 64: 5 steps per epoch, 2 epochs; 2 worker threads
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'trace', 2), '--threads', '2', '--trace', file, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const trace = await readTrace(file);
  const spans = trace.traceEvents.filter((e) => e.ph === 'X');
  const named = (n: string) => spans.filter((e) => e.name === n);
  const steps = named('step');
  assert.equal(steps.length, 10);
  assert.deepEqual(steps.map((s) => s.args?.step), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const phase of ['plan', 'dispatch-wait', 'update', 'publish']) assert.equal(named(phase).length, 10, phase);
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
  const workers = new Set(compute.map((e) => workerOf(trace, e.tid)));
  assert.ok(workers.size >= 1 && workers.size <= 2, `${workers.size} workers`);
  const microBatches = compute.reduce((s, e) => s + (e.args?.microBatches as number), 0);
  assert.equal(microBatches, 40, 'every micro-batch of every step is on some worker track');
  const names = trace.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
  assert.ok(names.includes('coordinator'));
  assertTimedMicroBatches(trace, 40);
  assertNested(trace);
  // scripts/trace-balance.ts reads what a run writes: every step, its 4 micro-batches
  const balance = balanceOf(trace.traceEvents, 0);
  assert.ok(balance !== null);
  assert.equal(balance.steps, 10);
  for (const split of Object.keys(balance.splits)) assert.equal(split.split('/').reduce((a, n) => a + Number(n), 0), 4, split);
});

interface ChromeTrace {
  traceEvents: TraceEvent[];
}

/** The file is the Trace Event Format's JSON Array Format: once the run ended, whole JSON. */
async function readTrace(file: string): Promise<ChromeTrace> {
  const events: unknown = JSON.parse(await readFile(file, 'utf8'));
  assert.ok(Array.isArray(events), 'a JSON array of events');
  return { traceEvents: events as TraceEvent[] };
}

/** The worker a track belongs to: its name without "worker ", " transfers" and a " (k)" lane number. */
function workerOf(trace: ChromeTrace, tid: number): string {
  const name = trace.traceEvents.find((e) => e.name === 'thread_name' && e.tid === tid)?.args?.name as string;
  return name.replace(/^worker /, '').replace(/ \(\d+\)$/, '').replace(/ transfers$/, '');
}

/** On every track, spans follow each other or nest: none starts inside another and ends after it. */
function assertNested(trace: ChromeTrace): void {
  const byTrack = new Map<number, { name: string; ts: number; end: number }[]>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X') continue;
    const list = byTrack.get(e.tid) ?? [];
    list.push({ name: e.name, ts: e.ts, end: e.ts + (e.dur ?? 0) });
    byTrack.set(e.tid, list);
  }
  const eps = 1e-6;
  for (const [tid, spans] of byTrack) {
    spans.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const open: { name: string; ts: number; end: number }[] = [];
    for (const s of spans) {
      while (open.length > 0 && open.at(-1)!.end <= s.ts + eps) open.pop();
      const parent = open.at(-1);
      assert.ok(
        !parent || s.end <= parent.end + eps,
        `track ${tid}: ${s.name} ${(s.ts / 1000).toFixed(3)}-${(s.end / 1000).toFixed(3)} ms overlaps ${parent?.name} ${((parent?.ts ?? 0) / 1000).toFixed(3)}-${((parent?.end ?? 0) / 1000).toFixed(3)} ms without nesting`,
      );
      open.push(s);
    }
  }
}

/**
 * Compute spans placed by the workers' own clocks (they share this machine's), not in the middle of
 * each round trip: there a span's transfers out and back would all be equally long.
 */
function assertWorkerClock(trace: ChromeTrace): void {
  const spans = trace.traceEvents.filter((e) => e.ph === 'X');
  const transfers = spans.filter((e) => e.name === 'transfer');
  let lopsided = 0;
  for (const c of spans.filter((e) => e.name === 'compute')) {
    const mine = transfers.filter((t) => workerOf(trace, t.tid) === workerOf(trace, c.tid));
    const out = mine.find((t) => Math.abs(t.ts + t.dur! - c.ts) < 1);
    const back = mine.find((t) => Math.abs(t.ts - (c.ts + c.dur!)) < 1);
    if (out && back && Math.abs(out.dur! - back.dur!) > 50) lopsided++;
  }
  assert.ok(lopsided > 0, 'some micro-batch waits longer on one side of its compute than on the other');
}

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
    const mine = transfer.filter((t) => workerOf(trace, t.tid) === workerOf(trace, c.tid));
    assert.ok(mine.some((t) => Math.abs(t.ts + t.dur! - c.ts) < 1), 'a transfer of its worker ends where the compute starts');
    assert.ok(mine.some((t) => Math.abs(t.ts - (c.ts + c.dur!)) < 1), 'a transfer of its worker starts where the compute ends');
  }
}

test('--trace with WebSocket worker processes draws transfer and compute spans per micro-batch', async () => {
  const dir = await tempDir();
  const file = join(dir, 'trace.json');
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'trace-ws', 1), '--procs', '2', '--trace', file, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const trace = await readTrace(file);
  assertTimedMicroBatches(trace, 20);
  assertNested(trace);
  assertWorkerClock(trace);
});

test('trainer coordinator --trace writes the same trace for remote workers', async () => {
  const dir = await tempDir();
  const file = join(dir, 'coordinator-trace.json');
  const port = await freePort();
  const coordinator = spawnMain(['coordinator', '--config', await smallConfigFile(dir, 'trace-coordinator', 1), '--port', String(port), '--cluster.workers', '1', '--trace', file, '--quiet']);
  const worker = spawnWorker(`127.0.0.1:${port}`, dir, 'traced', [], null);
  try {
    assert.equal(await coordinator.exited, 0, coordinator.output());
    const trace = await readTrace(file);
    assert.equal(trace.traceEvents.filter((e) => e.name === 'step').length, 5);
    assertTimedMicroBatches(trace, 20);
    assertNested(trace);
  } finally {
    killAll([coordinator, worker]);
  }
});

test('a trace that hits a file-size limit (ulimit -f) is said once and the run trains to its end; the file is whole JSON up to there', async () => {
  const dir = await tempDir();
  const file = join(dir, 'trace.json');
  // 80 images in batches of 4, 8 epochs: 160 steps, about 140 KB of trace in a process limited
  // to files of 96 KiB, where the data (49 KB a file), the checkpoint (plain SGD: 75 KB) and the
  // model fit.
  const args = ['train', '--config', await smallConfigFile(dir, 'trace-limit', 8), '--data.synthetic.trainSize', '80', '--data.synthetic.valSize', '16', '--train.batchSize', '4', '--train.momentum', '0', '--trace', file];
  const r = spawnSync('bash', ['-c', `ulimit -f 96 && exec "$0" "$@"`, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('--trace'));
  assert.deepEqual(warnings, [
    `warning: --trace: cannot write ${file}: file too large (a file-size limit, ulimit -f, or the file system) (EFBIG); the file keeps the trace up to here, and the run goes on without the rest`,
  ]);
  assert.match(r.stdout, /Epoch 8,.*\nmodel saved to /);
  assert.equal((await loadCheckpoint(new RunFolder(join(dir, 'runs', 'trace-limit')).checkpointFile)).epoch, 8);
  const steps = (await readTrace(file)).traceEvents.filter((e) => e.name === 'step').map((e) => e.args?.step);
  assert.ok(steps.length >= 20 && steps.length < 160, `${steps.length} steps in the trace`);
  assert.deepEqual(steps, [...steps.keys()], 'every step up to where it stopped, in order');
});

test('--trace to a path that cannot be written is E_USAGE before anything trains (it was E_INTERNAL after the run)', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'bad-trace', 1);
  const missing = join(dir, 'no-such-folder', 't.json');
  const r = trainer(['train', '--config', config, '--trace', missing]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `error E_USAGE: --trace ${missing}: cannot write it: no such file or folder (ENOENT)\n`);
  const folder = trainer(['coordinator', '--config', config, '--trace', dir]);
  assert.equal(folder.code, 2);
  assert.equal(folder.stderr, `error E_USAGE: --trace ${dir}: is a folder; name a file\n`);
  // The trace is written as the run goes: opening a FIFO waited for a reader for ever (it was
  // replaced by a file at the end).
  const fifo = join(dir, 'trace.fifo');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    const r = trainer(['train', '--config', config, '--trace', fifo]);
    assert.equal(r.stderr, `error E_USAGE: --trace ${fifo}: is a FIFO, not a file; name a file\n`);
    assert.equal(r.code, 2);
  }
  // A folder whose permission bits allow writing but where no file can be made (root under /proc):
  // the run trained to its end and then failed with E_IO, exit 1.
  if (existsSync('/proc/self')) {
    const proc = trainer(['train', '--config', config, '--trace', '/proc/trainer-trace.json']);
    assert.equal(proc.stderr, 'error E_USAGE: --trace /proc/trainer-trace.json: cannot write it: no such file or folder (ENOENT)\n');
    assert.equal(proc.code, 2);
  }
  assert.equal(existsSync(join(dir, 'runs')), false, 'nothing started');
});

test('--trace naming a file that is not a trace (the config itself, a slip of the completion) is E_USAGE and leaves it as it was (it was emptied); an earlier trace is replaced', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'own-config', 1);
  const before = await readFile(config);
  const r = trainer(['train', '--config', config, '--trace', config]);
  assert.equal(r.stderr, `error E_USAGE: --trace ${config}: exists and is not a trace: a trace does not replace it (name another file)\n`);
  assert.equal(r.code, 2);
  assert.deepEqual(await readFile(config), before);
  assert.equal(existsSync(join(dir, 'runs')), false, 'nothing started');
  const file = join(dir, 'trace.json');
  for (const name of ['first', 'second']) {
    const t = trainer(['train', '--config', config, '--run.name', name, '--trace', file]);
    assert.equal(t.code, 0, t.stderr);
  }
  assert.ok((await readTrace(file)).traceEvents.some((e) => e.name === 'step'));
});
