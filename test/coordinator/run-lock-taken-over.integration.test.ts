import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

// 300 examples, batch 64: 5 steps an epoch, 3 epochs; a steps line every step.
const over = { run: { name: 'taken' }, data: { synthetic: { trainSize: 300 } }, train: { epochs: 3 }, log: { everySteps: 1 } };

test('a run whose lock another machine took over while it was stopped (past the lease) stops at its next write, writes nothing more and leaves the lock to its new holder', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, over);
  const folder = RunFolder.of(config);
  const theirs = `${JSON.stringify({ pid: 4242, host: 'another-node' })}\n`;
  await assert.rejects(
    runTraining({
      config,
      resume: false,
      createPool: createInProcessPool,
      log: quietLog,
      // As a process on another machine does once this one's lease has lapsed: its lock in place of
      // ours, at the first step of epoch 2 (epoch 1's checkpoint is written by then).
      onStep: (s) => {
        if (s.globalStep === 6) writeFileSync(folder.lockFile, theirs);
      },
    }),
    (err: unknown) =>
      isTrainerError(err, 'E_CHECKPOINT') &&
      err.message ===
        `${folder.lockFile} was taken over by process 4242 on another-node, which trains the run now: this process went more than 60 s without renewing it ` +
          '(stopped, suspended or blocked), and a lock from another machine or container is taken over then; this process stops here and writes nothing more to the run',
  );
  assert.deepEqual((await folder.readMetrics()).map((m) => m.epoch), [1], 'no line of epoch 2');
  assert.deepEqual((await folder.readSteps()).map((s) => s.epoch), [1, 1, 1, 1, 1], 'no steps line of epoch 2');
  const ck = await loadCheckpoint(folder.checkpointFile);
  assert.deepEqual([ck.epoch, ck.stepInEpoch], [1, 0], 'the checkpoint of epoch 1 (written before the takeover), not one of this process after it');
  assert.equal(await readFile(folder.lockFile, 'utf8'), theirs, 'the new holder\'s lock stays');
});
