import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import type { PoolFactory, WorkerPool } from '../../src/transports/pool.js';
import { TrainerError } from '../../src/shared/errors.js';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
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

test('workers lost after the stop was asked for (a scheduler signals every process of the job) are the stop at the last step boundary, in a step or in an evaluation: outcome stopped, not E_NO_WORKERS', async () => {
  const dir = await tempDir();
  // 600 examples, batch 64: 10 steps an epoch; evaluation at the end of each.
  const lost = (name: string, when: 'step' | 'evaluation') => {
    const config = smallConfig(dir, { run: { name }, train: { epochs: 2 } });
    const stop = new AbortController();
    const createPool: PoolFactory = async (ctx) => {
      const pool = await createInProcessPool(ctx);
      const gone = () => {
        stop.abort();
        throw new TrainerError('E_NO_WORKERS', 'stopped while waiting for a worker to join');
      };
      const [runStep, evaluate] = [pool.runStep.bind(pool), pool.evaluate.bind(pool)];
      pool.runStep = (...args: Parameters<WorkerPool['runStep']>) => (when === 'step' && args[0] === 13 ? gone() : runStep(...args));
      pool.evaluate = (...args: Parameters<WorkerPool['evaluate']>) => (when === 'evaluation' ? gone() : evaluate(...args));
      return pool;
    };
    return { folder: RunFolder.of(config), run: runTraining({ config, resume: false, createPool, log: quietLog, signal: stop.signal }) };
  };
  const inStep = lost('in-step', 'step');
  assert.equal((await inStep.run).outcome, 'stopped');
  const a = await loadCheckpoint(inStep.folder.checkpointFile);
  assert.deepEqual([a.globalStep, a.epoch, a.stepInEpoch], [13, 1, 3], 'the step it could not finish is the one to resume');
  const inEval = lost('in-evaluation', 'evaluation');
  assert.equal((await inEval.run).outcome, 'stopped');
  const b = await loadCheckpoint(inEval.folder.checkpointFile);
  assert.deepEqual([b.globalStep, b.epoch, b.stepInEpoch], [10, 0, 10], 'every step of epoch 1 done, its evaluation to come');
});
