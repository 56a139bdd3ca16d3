import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { TraceEvent } from '../../src/cli/trace.js';
import { TraceFile } from '../../src/cli/trace-file.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

/**
 * Writes 300 step spans to `file` in a process limited to files of 8 KiB (ulimit -f 8), writing
 * every 2,000 characters: the fifth write passes the limit part of the way in. Returns what it
 * was told and what it holds after.
 */
function traceUnderFileSizeLimit(file: string): { told: string[]; held: { events: number; chars: number }; written: number } {
  const script = `
    const { TraceFile } = await import(${JSON.stringify(new URL('../../src/cli/trace-file.js', import.meta.url).href)});
    const told = [];
    const out = new TraceFile(process.argv[1], { flushBytes: 2000, onWriteError: (err) => told.push(err.code + ' ' + err.message) });
    for (let step = 0; step < 300; step++) out.append({ name: 'step', ph: 'X', pid: 1, tid: 0, ts: step * 1000, dur: 900, args: { step } });
    out.close();
    process.stdout.write(JSON.stringify({ told, held: out.held(), written: out.eventsWritten }));`;
  const r = spawnSync('bash', ['-c', `ulimit -f 8 && exec "$0" --input-type=module -e "$1" "$2"`, process.execPath, script, file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ReturnType<typeof traceUnderFileSizeLimit>;
}

test('a trace write that passes a file-size limit is E_IO told once; the file is put back whole JSON with the events before it, and nothing more is held', async () => {
  const file = join(await tempDir(), 'trace.json');
  const { told, held, written } = traceUnderFileSizeLimit(file);
  assert.deepEqual(told, [`E_IO cannot write ${file}: file too large (a file-size limit, ulimit -f, or the file system) (EFBIG)`]);
  assert.deepEqual(held, { events: 0, chars: 0 }, 'events after the failure are dropped, not kept');
  const events = JSON.parse(await readFile(file, 'utf8')) as TraceEvent[];
  assert.ok(written > 0 && written < 300, `${written} events written`);
  assert.equal(events.length, written);
  assert.deepEqual(events.map((e) => e.args?.step), [...Array(written).keys()], 'the steps before the failed write, in order, none cut');
});

test('a trace file that cannot be opened is E_IO naming it and why', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  // /dev/full opens and takes no byte: the first write (the empty array) is ENOSPC, as on a full disk.
  assert.throws(
    () => new TraceFile('/dev/full'),
    (err) => isTrainerError(err, 'E_IO') && err.message === 'cannot write /dev/full: no space left on the device (ENOSPC)',
  );
});
