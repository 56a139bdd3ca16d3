import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { extractConfigFlags, resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

const configError = (message: string) => (err: unknown) => isTrainerError(err, 'E_CONFIG') && err.message === message;

test('a YAML alias inside its own anchor is one E_CONFIG line naming the key (was E_INTERNAL: "Converting circular structure to JSON")', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-alias-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'loop.yaml');
  await writeFile(file, 'train: &a\n  epochs: *a\n');
  await assert.rejects(resolveConfig(file, {}), configError(`config file ${file}: train.epochs holds an alias of itself (*name inside its own &name)`));
  assert.throws(() => extractConfigFlags(['--train.epochs', '&a [*a]']), configError('--train.epochs.0 holds an alias of itself (*name inside its own &name)'));
  assert.throws(() => extractConfigFlags(['--data.classes', '&a [ship, *a]']), configError('--data.classes.1 holds an alias of itself (*name inside its own &name)'));
  // An alias of another value is still read as that value.
  const shared = join(dir, 'shared.yaml');
  await writeFile(shared, 'train:\n  epochs: &e 3\neval:\n  every: *e\ndata:\n  classes: &c [ship, airplane]\n');
  const c = await resolveConfig(shared, {});
  assert.deepEqual([c.train.epochs, c.eval.every, c.data.classes], [3, 3, ['ship', 'airplane']]);
});
