import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';

// The E_DIVERGED error of a run with weight decay names train.weightDecay beside train.lr (a huge one
// diverges as surely); the line of a new run of that same config in its folder named train.lr alone.
test('a new run that is a diverged run with weight decay again names train.weightDecay beside train.lr, as the E_DIVERGED error does', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = smallConfig(dir, { run: { name: 'decay' }, train: { weightDecay: 1e-4 } });
  let message = '';
  await assert.rejects(
    runTraining({ config, resume: false, createPool: poisonedFrom(3), log: quietLog }),
    (err) => isTrainerError(err, 'E_DIVERGED') && (message = err.message) !== '',
  );
  assert.match(message, /\(lower train\.lr or train\.weightDecay\?\)$/);

  const lines: string[] = [];
  const stop = new AbortController();
  await runTraining({ config, resume: false, createPool: createInProcessPool, log: (l) => lines.push(l), signal: stop.signal, onStep: () => stop.abort() });
  const said = lines.find((l) => l.startsWith(`${join(config.run.dir, 'decay')} holds a run that diverged`));
  assert.ok(said !== undefined, lines.join('\n'));
  assert.match(said, /so it diverges again at step 4: stop it and start it with a lower train\.lr or train\.weightDecay$/);
});
