import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

const refusal = (lock: string) => `error E_CHECKPOINT: cannot read the run's lock ${lock}: a folder, not a file (EISDIR); it is not trainer's, or another user's; remove it if no run is in progress\n`;

test('a run.lock that cannot be read (a folder in its place) is E_CHECKPOINT naming it, for a new run and for --resume; it used to spin for ever', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'fresh');
  const fresh = join(dir, 'runs', 'fresh', 'run.lock');
  await mkdir(fresh, { recursive: true });
  const r = trainer(['train', '-c', config]);
  assert.equal(r.stderr, refusal(fresh));
  assert.equal(r.code, 2);

  assert.equal(trainer(['train', '-c', config, '--run.name', 'done']).code, 0);
  const done = join(dir, 'runs', 'done', 'run.lock');
  await mkdir(done);
  const resumed = trainer(['train', '-c', config, '--run.name', 'done', '--resume', '--train.epochs', '3']);
  assert.equal(resumed.stderr, refusal(done));
  assert.equal(resumed.code, 2);
});
