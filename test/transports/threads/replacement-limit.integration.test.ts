import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint } from '../../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { runTraining } from '../../../src/coordinator/run.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { generateSynthetic } from '../../../src/data/synthetic.js';
import { MAX_THREAD_REPLACEMENTS, PROVEN_TASKS } from '../../../src/transports/threads/board.js';
import { ThreadEngine } from '../../../src/transports/threads/engine.js';
import type { Fault } from '../../../src/transports/threads/messages.js';
import { threadPoolFactory } from '../../../src/transports/threads/pool.js';
import { getModel, initParams } from '../../../src/worker/model.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';

process.env['TRAINER_WARMUP_STEPS'] ??= '2';

/** One thread, 4 micro-batches a step; `fault` for task number step * 4 + m (first attempts only). */
async function train(dir: string, name: string, steps: number, fault: (task: number) => Fault | undefined) {
  const config = smallConfig(dir, {
    run: { name },
    data: { synthetic: { trainSize: 64 * steps } },
    train: { epochs: 1, batchSize: 64, microBatches: 4 },
    cluster: { transport: 'threads', workers: 1 },
  });
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    quietLog(line);
  };
  const createPool = threadPoolFactory({ injectFault: (s, m, attempt) => (attempt === 0 ? fault(s * 4 + m) : undefined) });
  const run = runTraining({ config, resume: false, createPool, log });
  return { run, lines };
}

test('a thread that dies after every task is replaced 3 times in a row, then not: with no thread left the run stops with E_WORKER_LOST naming the loss, and keeps its checkpoint (it was replaced at every step for ever)', async () => {
  const dir = await tempDir();
  // Each thread dies after its task from task 8 on (step 3): tasks 8 to 11 each cost a thread, the
  // fourth not replaced, so steps 1-3 are whole and step 4 finds no thread.
  const { run, lines } = await train(dir, 'dying', 6, (task) => (task >= 8 ? 'exitAfter' : undefined));
  await assert.rejects(run, (e) => isTrainerError(e, 'E_WORKER_LOST') && /no compute thread is left/.test(e.message) && /lost 4 times in a row/.test(e.message));
  const replaced = lines.filter((l) => /^thread-\d+ \(position 0\) gone \(thread exited with code 1\); another thread starts in its place \(\d of 3 in a row\)$/.test(l));
  assert.equal(replaced.length, MAX_THREAD_REPLACEMENTS, lines.join('\n'));
  assert.deepEqual(
    lines.filter((l) => /not replaced/.test(l)),
    [lines.find((l) => /^thread-\d+ \(position 0\) gone \(thread exited with code 1\); not replaced: the thread at position 0 was lost 4 times in a row$/.test(l))],
    lines.join('\n'),
  );
  const ck = await loadCheckpoint(new RunFolder(join(dir, 'runs', 'dying')).checkpointFile);
  assert.equal(ck.globalStep, 3, 'the checkpoint holds the three whole steps');
});

test(`losses ${PROVEN_TASKS} tasks or more apart are all replaced: a thread that computed ${PROVEN_TASKS} tasks clears its position's count, and the weights are a clean run's`, async () => {
  const dir = await tempDir();
  const clean = await (await train(dir, 'clean', 28, () => undefined)).run;
  // Each thread dies after its 21st task: tasks 20, 41, 62, 83 and 104, five losses in 28 steps.
  const every = PROVEN_TASKS + 1;
  const { run, lines } = await train(dir, 'far-apart', 28, (task) => (task % every === every - 1 ? 'exitAfter' : undefined));
  const r = await run;
  assert.equal(r.weightsSha256, clean.weightsSha256);
  const replaced = lines.filter((l) => /gone \(thread exited with code 1\); another thread starts in its place \(1 of 3 in a row\)$/.test(l));
  assert.equal(replaced.length, 5, lines.join('\n'));
  assert.ok(!lines.some((l) => /not replaced/.test(l)), lines.join('\n'));
});

test('trainer worker --threads: once every compute thread is lost past its replacements, a task fails with E_WORKER_LOST (which ends the worker, worker-session.ts)', async () => {
  const model = getModel('net');
  const engine = await ThreadEngine.start({
    threads: 1,
    backend: 'wasm',
    gpu: null,
    model,
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    data: { train: generateSynthetic(64, 1), val: generateSynthetic(16, 2) },
    maxBatch: 16,
    microBatch: 16,
    injectFault: () => 'exitAfter',
  });
  try {
    const weights = initParams(model, 0);
    const indices = Int32Array.from({ length: 16 }, (_, i) => i);
    // Each task is computed, and costs its thread: the first and its 3 replacements.
    for (let task = 0; task <= MAX_THREAD_REPLACEMENTS; task++) assert.equal((await engine.gradient(1, weights, indices, new Float32Array(model.size))).count, 16);
    await assert.rejects(engine.gradient(1, weights, indices, new Float32Array(model.size)), (e) => isTrainerError(e, 'E_WORKER_LOST') && /no compute thread is left/.test(e.message));
  } finally {
    await engine.close();
  }
});
