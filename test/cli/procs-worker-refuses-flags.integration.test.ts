import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { procsPoolFactory } from '../../src/transports/ws/launch.js';
import { smallConfig, tempDir } from '../helpers.js';

test('a local worker process that refuses its flags (exit 2) ends the run with its own E_USAGE, exit 2, said once (it was E_WORKER_LOST, exit 1)', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { cluster: { transport: 'procs', workers: 2 } });
  const lines: string[] = [];
  await assert.rejects(
    runTraining({
      config,
      resume: false,
      log: (line) => lines.push(line),
      createPool: procsPoolFactory({ workerArgs: ['--threads', '0', '--cache-dir', join(dir, 'cache')] }),
    }),
    (err) => isTrainerError(err, 'E_USAGE') && err.exitCode === 2 && /^worker process [01]: --threads must be an integer from 1 to \d+ or auto, got "0"$/.test(err.message),
  );
  // The failing worker's own line is the run's error; the other worker's may still be logged.
  assert.ok(lines.filter((l) => l.includes('--threads must be')).length <= 1, lines.join('\n'));
});

test('local worker processes without a usable backend end the run with their E_BACKEND, said once (it was E_WORKER_LOST, the text twice)', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { backend: 'webgpu', cluster: { transport: 'procs', workers: 2 } });
  const lines: string[] = [];
  // An adapter no machine has: the workers' backend fails here, in CI and on a GPU host alike.
  process.env.TRAINER_WEBGPU_ADAPTER = 'no-such-adapter-anywhere';
  try {
    await assert.rejects(
      runTraining({ config, resume: false, log: (line) => lines.push(line), createPool: procsPoolFactory({ workerArgs: ['--cache-dir', join(dir, 'cache')] }) }),
      (err) => isTrainerError(err, 'E_BACKEND') && err.exitCode === 1 && /^worker process [01]: /.test(err.message),
    );
  } finally {
    delete process.env.TRAINER_WEBGPU_ADAPTER;
  }
  assert.deepEqual(lines.filter((l) => l.includes('E_BACKEND')), [], 'the error is the run\'s, not logged besides');
});
