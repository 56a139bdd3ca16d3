import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { isTrainerError } from '../../src/shared/errors.js';
import type { Config } from '../../src/shared/config.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';

/** What a new run of `config` says as it starts (it stops once its first step is done). */
async function startLines(config: Config): Promise<string[]> {
  const lines: string[] = [];
  const stop = new AbortController();
  await runTraining({ config, resume: false, createPool: createInProcessPool, log: (l) => lines.push(l), signal: stop.signal, onStep: () => stop.abort() });
  return lines;
}

// A new run in the folder of one that diverged before its first checkpoint said the folder "holds a
// run killed in its first epoch": neither why it ended nor that the same config ends so again.
test('a new run in the folder of a run that diverged says it diverged, at which step, and what to change when it is the same run again', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = smallConfig(dir, { run: { name: 'again' } });
  const runDir = join(config.run.dir, 'again');
  const diverge = () => runTraining({ config, resume: false, createPool: poisonedFrom(3), log: quietLog });
  let message = '';
  await assert.rejects(diverge(), (err) => isTrainerError(err, 'E_DIVERGED') && (message = err.message) !== '');
  assert.match(message, /\bstep 4\b/);

  const same = await startLines(config);
  assert.ok(
    same.includes(
      `${runDir} holds a run that diverged at step 4 (E_DIVERGED) before its first checkpoint: nothing to resume, so this run starts it again there, ` +
        "with that run's data, model and optimisation, so it diverges again at step 4: stop it and start it with a lower train.lr",
    ),
    same.join('\n'),
  );
  assert.ok(!same.some((l) => /killed/.test(l)), same.join('\n'));

  // With train.lr lowered, it is another run: the step is said, no more.
  await rm(runDir, { recursive: true });
  await assert.rejects(diverge(), (err) => isTrainerError(err, 'E_DIVERGED'));
  const lower = await startLines(smallConfig(dir, { run: { name: 'again' }, train: { lr: 0.01 } }));
  assert.ok(lower.includes(`${runDir} holds a run that diverged at step 4 (E_DIVERGED) before its first checkpoint: nothing to resume, so this run starts it again there`), lower.join('\n'));
});
