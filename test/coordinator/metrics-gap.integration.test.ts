import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

test('a resume whose metrics.jsonl lacks an epoch the checkpoint covers (a torn line) says so (the epoch vanished without a word)', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'torn' }, train: { epochs: 2 } });
  await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog });
  const folder = RunFolder.of(config);
  const [first, second] = (await readFile(folder.metricsFile, 'utf8')).split('\n');
  // Epoch 2's line cut short, as a power loss leaves an append that was not on the disk.
  await writeFile(folder.metricsFile, `${first}\n${(second ?? '').slice(0, 40)}`);
  const lines: string[] = [];
  const r = await runTraining({ config: { ...config, train: { ...config.train, epochs: 3 } }, resume: true, createPool: createInProcessPool, log: (l) => lines.push(l) });
  assert.equal(r.outcome, 'finished');
  assert.ok(lines.some((l) => l === `note: ${folder.metricsFile} lacks the line of epoch(s) 2 (torn or lost: a crash, a full disk); the checkpoint has their training, their figures are gone`), lines.join('\n'));
  assert.deepEqual((await folder.readMetrics()).map((m) => m.epoch), [1, 3]);
});
