import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import test from 'node:test';
import { runTraining, type RunHistory } from '../../src/coordinator/run.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { DashboardState } from '../../src/dashboard/state.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

test('a resumed run hands its past to the dashboard: every epoch of metrics.jsonl, its loss lines, and where it resumes (the page showed only the epochs this process trained, and "epoch 0, step 0" until the first step)', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'again' }, train: { epochs: 2 }, log: { everySteps: 1 } });
  await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog });
  const histories: RunHistory[] = [];
  // A line past the checkpoint (a run killed between writing it and its checkpoint): not its past.
  await appendFile(RunFolder.of(config).metricsFile, `${JSON.stringify({ ...(await RunFolder.of(config).readMetrics())[1], epoch: 3 })}\n`);
  const state = new DashboardState('again', 3);
  let before: ReturnType<DashboardState['snapshot']> | null = null;
  await runTraining({
    config: { ...config, train: { ...config.train, epochs: 3 } },
    resume: true,
    // Before the pool (a coordinator waits for its workers there) and the data: it came after both.
    createPool: (ctx) => {
      assert.equal(histories.length, 1, 'the past is handed over before waiting for workers');
      return createInProcessPool(ctx);
    },
    log: quietLog,
    onHistory: (h) => {
      histories.push(h);
      state.onHistory(h);
      before = state.snapshot();
    },
    onEpoch: state.onEpoch,
    onStep: state.onStep,
  });
  assert.equal(histories.length, 1);
  const [h] = histories as [RunHistory];
  const folder = RunFolder.of(config);
  const all = await folder.readMetrics();
  assert.deepEqual(h.epochs.map((m) => m.epoch), [1, 2]);
  assert.deepEqual([h.epoch, h.globalStep], [2, all[1]?.step]);
  assert.ok(h.steps.length >= 2 && h.steps.every((s) => s.step <= h.globalStep));
  // Before the first resumed step: epoch 3 of 3 at the checkpoint's step, the two past epochs and their loss curve.
  const first = before as unknown as ReturnType<DashboardState['snapshot']>;
  assert.deepEqual([first.epoch, first.step], [3, h.globalStep]);
  assert.deepEqual(first.epochsDone.map((e) => e.epoch), [1, 2]);
  assert.ok(first.lossCurve.length > 0);
  // At the end: all three epochs, as metrics.jsonl has them.
  assert.deepEqual(state.snapshot().epochsDone.map((e) => e.epoch), all.map((m) => m.epoch));
  assert.deepEqual(all.map((m) => m.epoch), [1, 2, 3]);
});
