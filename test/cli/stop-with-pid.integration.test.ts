import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile, trainActingAtEpoch1 } from './cli-helpers.js';

test('TRAINER_STOP_WITH_PID: once that process is killed, trainer train stops at the next step with its checkpoint (exit 130); a value that is no process id is E_USAGE', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'run', 50);
  // The launcher: what trainer.sbatch's batch shell is to its coordinator.
  const launcher = spawn('sleep', ['600'], { stdio: 'ignore' });
  const launcherGone = new Promise((r) => launcher.once('exit', r));
  let killedAt = 0;
  const { code, stderr: out } = await trainActingAtEpoch1(
    ['train', '--config', config, '--run.name', 'orphan', '--data.synthetic.trainSize', '2000'],
    () => {
      killedAt = Date.now();
      launcher.kill('SIGKILL');
    },
    { TRAINER_STOP_WITH_PID: String(launcher.pid) },
  );
  launcher.kill('SIGKILL');
  await launcherGone;
  assert.equal(code, 130, out);
  assert.ok(killedAt > 0, out);
  assert.match(out, new RegExp(`the process that launched it \\(pid ${launcher.pid}, TRAINER_STOP_WITH_PID\\) is gone: stopping at the next step`));
  assert.match(out, /stopped at epoch \d+, step \d+; checkpoint written, continue with --resume/);
  assert.ok(Date.now() - killedAt < 20_000, `stopped ${Date.now() - killedAt} ms after its launcher was killed`);
  assert.ok(existsSync(join(dir, 'runs', 'orphan', 'checkpoint', 'state.ckpt')), 'the checkpoint is there');

  process.env.TRAINER_STOP_WITH_PID = 'abc';
  try {
    expectFailures([[['train', '--config', config], 'error E_USAGE: TRAINER_STOP_WITH_PID must be a process id (a whole number from 1), got "abc"\n']]);
  } finally {
    delete process.env.TRAINER_STOP_WITH_PID;
  }
});
