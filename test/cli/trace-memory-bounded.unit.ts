import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { TraceRecorder, type TraceEvent } from '../../src/cli/trace.js';
import { TRACE_FLUSH_BYTES, TraceFile } from '../../src/cli/trace-file.js';
import type { StepTiming } from '../../src/coordinator/train-loop.js';
import { tempDir } from '../helpers.js';

/** Step `step` of two worker threads with two micro-batches each, the second handed over while the first computes. */
function timing(step: number): StepTiming {
  const t = step * 10;
  const mb = (worker: string, sentMs: number) => ({ worker, count: 16, timing: { sentMs, startMs: sentMs + 1, endMs: sentMs + 4, receivedMs: sentMs + 5 } });
  const results = [mb('thread-0', t + 0.5), mb('thread-0', t + 0.6), mb('thread-1', t + 0.5), mb('thread-1', t + 0.7)];
  const stats = (worker: string) => ({ worker, backend: 'wasm', threads: 1, microBatches: 2 * (step + 1), examples: 32 * (step + 1), computeMs: 6 * (step + 1) });
  return { epoch: Math.floor(step / 100), step, marks: [t, t + 0.5, t + 6, t + 7, t + 8], workers: [stats('thread-0'), stats('thread-1')], results };
}

test('a trace of 10,000 steps holds no more in memory after step 10,000 than after step 100, and its file has every step', async () => {
  const file = join(await tempDir(), 'trace.json');
  const out = new TraceFile(file, { flushEveryMs: 60_000 });
  const trace = new TraceRecorder(out, () => 0);
  const steps = 10_000;
  let most = { events: 0, chars: 0 };
  let atStep100 = { tracks: 0, workers: 0 };
  for (let step = 0; step < steps; step++) {
    trace.onStepTiming(timing(step));
    const held = out.held();
    most = { events: Math.max(most.events, held.events), chars: Math.max(most.chars, held.chars) };
    if (step === 100) atStep100 = trace.held();
  }
  // An event here is at most ~200 characters: what waits is the flush threshold and one event more.
  assert.ok(most.chars < TRACE_FLUSH_BYTES + 1000, `at most ${most.chars} characters of events held`);
  assert.ok(most.events < TRACE_FLUSH_BYTES / 50, `at most ${most.events} events held`);
  assert.deepEqual(trace.held(), atStep100, 'no track nor worker added after step 100');
  assert.deepEqual(atStep100, { tracks: 8, workers: 2 }, 'per worker: two tracks of compute and two of transfers (its micro-batches overlap)');
  // The file holds what memory does not: every step, in order.
  out.close();
  const events = JSON.parse(await readFile(file, 'utf8')) as TraceEvent[];
  const stepSpans = events.filter((e) => e.name === 'step');
  assert.equal(stepSpans.length, steps);
  assert.ok(stepSpans.every((e, i) => e.args?.step === i));
  assert.equal(events.filter((e) => e.name === 'compute').length, 4 * steps);
  assert.equal(out.eventsWritten, events.length);
});
