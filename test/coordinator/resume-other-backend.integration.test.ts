// A run resumed on another backend kind says so: the checkpoint records the kinds that computed
// the run, the epoch's metrics line lists those of its steps before the resume too, and the run
// logs "parity: mixed backends (...)" once, as a run whose workers mix kinds does (its weights
// hash matches no one-backend run). TRAINER_WASM_SIMD=0 makes the resumed process's wasm backend
// the kind `wasm stock-kernels`.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { readKernelSwitches } from '../../src/worker/kernels/wasm-heap.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

// 300 examples, batch 64: 5 steps an epoch; 3 epochs = 15 steps.
const over = (name: string) => ({ run: { name }, data: { synthetic: { trainSize: 300 } }, train: { epochs: 3 } });

/** Trains until `stopAt` steps are done (the run's stop signal), then resumes it with TRAINER_WASM_SIMD=0; the metrics and the resumed run's log. */
async function stopAndResumeWithoutSimd(stopAt: number) {
  const dir = await tempDir();
  const config = smallConfig(dir, over('r'));
  const stop = new AbortController();
  const part = await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog, signal: stop.signal, onStep: (s) => s.globalStep === stopAt && stop.abort() });
  assert.equal(part.outcome, 'stopped');
  const log: string[] = [];
  process.env['TRAINER_WASM_SIMD'] = '0';
  readKernelSwitches();
  try {
    const resumed = await runTraining({ config, resume: true, createPool: createInProcessPool, log: (l) => (log.push(l), quietLog(l)) });
    assert.equal(resumed.outcome, 'finished');
    const metrics = (await readFile(join(resumed.runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; backends: string[] });
    return { backends: metrics.map((m) => m.backends), log };
  } finally {
    delete process.env['TRAINER_WASM_SIMD'];
    readKernelSwitches();
  }
}

const mixedNote = /^parity: mixed backends \(wasm, wasm stock-kernels\): .*the weights hash will not match a run on one backend$/;

test('a run stopped mid-epoch and resumed on another kind lists both kinds for that epoch and says mixed backends once', async () => {
  const { backends, log } = await stopAndResumeWithoutSimd(7); // in the middle of epoch 2
  assert.deepEqual(backends, [['wasm'], ['wasm', 'wasm stock-kernels'], ['wasm stock-kernels']]);
  assert.equal(log.filter((l) => mixedNote.test(l)).length, 1, log.join('\n'));
});

test('a run stopped at an epoch boundary and resumed on another kind says mixed backends once', async () => {
  const { backends, log } = await stopAndResumeWithoutSimd(5); // the end of epoch 1
  assert.deepEqual(backends, [['wasm'], ['wasm stock-kernels'], ['wasm stock-kernels']]);
  assert.equal(log.filter((l) => mixedNote.test(l)).length, 1, log.join('\n'));
});
