import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { checkTraceFile, isTraceHead } from '../../src/cli/trace.js';
import { TraceFile } from '../../src/cli/trace-file.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

test('--trace replaces a trace (whole, cut short by a kill, empty, or the object form) and nothing else: a config, a checkpoint, a JSON list of other things', async () => {
  const dir = await tempDir();
  // One this program wrote, closed and cut short.
  const ours = join(dir, 'ours.json');
  const trace = new TraceFile(ours, { flushEveryMs: 60_000 });
  trace.append({ name: 'step', ph: 'X', pid: 1, tid: 0, ts: 0, dur: 5 });
  trace.close();
  const whole = await readFile(ours, 'utf8');
  const traces = [whole, whole.slice(0, whole.length - 3), '[\n]\n', '[', '', '{"traceEvents": [{"ph": "X"}]}', '[{"pid":1,"tid":2,"ph":"X","ts":0}]'];
  for (const text of traces) {
    assert.ok(isTraceHead(text.slice(0, 256)), JSON.stringify(text));
    await writeFile(ours, text);
    assert.equal(await checkTraceFile(ours), ours);
  }
  const others = ['run: {name: demo}\n', '{"run": {"name": "demo"}}', '[1, 2, 3]', '[{"name": "x", "value": 3}]', 'TRNCKPT\u0000\u0001\u0002', '# notes\n'];
  for (const text of others) {
    assert.equal(isTraceHead(text), false, JSON.stringify(text));
    const file = join(dir, 'other.txt');
    await writeFile(file, text);
    await assert.rejects(
      checkTraceFile(file),
      (e) => isTrainerError(e, 'E_USAGE') && e.message === `--trace ${file}: exists and is not a trace: a trace does not replace it (name another file)`,
    );
    assert.equal(await readFile(file, 'utf8'), text, 'left as it was');
  }
});
