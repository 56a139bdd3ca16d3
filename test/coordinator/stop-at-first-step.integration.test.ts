import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

test('a stop that comes once the pool is up but before the first step writes nothing: no step-0 checkpoint, no folder for a new run, the checkpoint of a resumed one as it was', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'late-stop' }, train: { epochs: 2 } });
  const folder = RunFolder.of(config);
  const lines: string[] = [];
  // onPool: after the pool is up and the run's files are written, the last thing before the loop.
  const stopAtOnPool = () => {
    const stop = new AbortController();
    return { signal: stop.signal, onPool: () => stop.abort() };
  };
  const fresh = await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog, result: (l) => lines.push(l), ...stopAtOnPool() });
  assert.equal(fresh.outcome, 'not-started');
  assert.deepEqual(lines, ['stopped before the first step; nothing trained yet, no checkpoint written']);
  assert.equal(existsSync(folder.dir), false, 'the new run leaves no folder (it kept config.json and a step-0 checkpoint)');

  // A resumed run: stopped the same way, its checkpoint stays the one it resumed from.
  await runTraining({ config: { ...config, train: { ...config.train, epochs: 1 } }, resume: false, createPool: createInProcessPool, log: quietLog });
  const before = (await folder.readMetrics()).length;
  const ckpt = await readFile(folder.checkpointFile);
  lines.length = 0;
  const resumed = await runTraining({ config, resume: true, createPool: createInProcessPool, log: quietLog, result: (l) => lines.push(l), ...stopAtOnPool() });
  assert.equal(resumed.outcome, 'not-started');
  assert.match(lines[0] ?? '', /^stopped before the first step; checkpoint in .*, continue with --resume$/);
  assert.deepEqual(await readFile(folder.checkpointFile), ckpt);
  assert.equal((await folder.readMetrics()).length, before);
});
