import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import type { TraceEvent } from '../../src/cli/trace.js';
import { TraceFile } from '../../src/cli/trace-file.js';
import { tempDir } from '../helpers.js';

const span = (step: number): TraceEvent => ({ name: 'step', ph: 'X', pid: 1, tid: 0, ts: step * 1000, dur: 900, args: { step } });

test('a trace file gets its events within flushEveryMs of their coming, and is whole JSON after every write, closed or not', async () => {
  const file = join(await tempDir(), 'trace.json');
  const out = new TraceFile(file, { flushEveryMs: 50 });
  try {
    // Read synchronously: the file is whole between writes, and an asynchronous read let the timer's
    // write land in the middle of it (it read the 4 bytes of the empty array's length, `[\n{"`).
    const read = async () => JSON.parse(readFileSync(file, 'utf8')) as TraceEvent[];
    assert.deepEqual(await read(), [], 'opened: an empty array');
    out.append(span(0));
    out.append(span(1));
    assert.deepEqual(await read(), [], 'a few events wait');
    for (let i = 0; i < 100 && (await read()).length < 2; i++) await sleep(20);
    assert.deepEqual(await read(), [span(0), span(1)], 'written by the timer, the file not closed');
    out.append(span(2));
    out.flush();
    assert.deepEqual(await read(), [span(0), span(1), span(2)], 'each write puts the closing ] back after its events');
    assert.match(await readFile(file, 'utf8'), /^\[\n\{.*\},\n\{.*\},\n\{.*\}\n\]\n$/, 'one event a line');
  } finally {
    out.close();
  }
});

test('flushBytes of events waiting are written at once, without waiting for the timer', async () => {
  const file = join(await tempDir(), 'trace.json');
  const out = new TraceFile(file, { flushBytes: 1000, flushEveryMs: 60_000 });
  try {
    for (let step = 0; step < 30; step++) out.append(span(step));
    const inFile = (JSON.parse(await readFile(file, 'utf8')) as TraceEvent[]).length;
    assert.ok(inFile >= 30 - out.held().events && out.held().chars < 1000, `${inFile} events written, ${out.held().events} waiting`);
    assert.ok(inFile > 0);
  } finally {
    out.close();
  }
  assert.equal((JSON.parse(await readFile(file, 'utf8')) as TraceEvent[]).length, 30, 'closed: every event');
});

test('a process that exits at once (a second Ctrl-C) writes the events that wait on its way out', async () => {
  const file = join(await tempDir(), 'trace.json');
  const script = `
    const { TraceFile } = await import(${JSON.stringify(new URL('../../src/cli/trace-file.js', import.meta.url).href)});
    const out = new TraceFile(process.argv[1], { flushEveryMs: 60_000 });
    for (let step = 0; step < 3; step++) out.append({ name: 'step', ph: 'X', pid: 1, tid: 0, ts: step * 1000, dur: 900, args: { step } });
    process.exit(130);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 130, r.stderr);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), [span(0), span(1), span(2)]);
});
