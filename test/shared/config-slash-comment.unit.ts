import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

test('a // comment in a config (YAML has none; a JSON config is read as YAML) is said to be one: it was "unknown config key // the lr "train"" or an "Implicit keys" error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-slash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const hint = ' (a comment in a config starts with #: // is not one)';
  const cases: [string, string, string][] = [
    ['c.json', '{\n  // the lr\n  "train": {"lr": 0.1}\n}\n', `unknown config key // the lr "train"${hint}`],
    ['c.yaml', 'train:\n  // the lr\n  lr: 0.1\n', `config file FILE is not valid YAML: Implicit keys need to be on a single line at line 2, column 3${hint}`],
    ['d.yaml', '// top\ntrain:\n  lr: 0.1\n', `config file FILE is not valid YAML: Implicit keys need to be on a single line at line 1, column 1${hint}`],
  ];
  for (const [name, text, message] of cases) {
    const file = join(dir, name);
    await writeFile(file, text);
    await assert.rejects(resolveConfig(file), (err) => {
      assert.ok(isTrainerError(err, 'E_CONFIG'), String(err));
      assert.equal(err.message, message.replace('FILE', file), text);
      return true;
    });
  }
  // # comments are comments: the same file loads.
  const good = join(dir, 'good.yaml');
  await writeFile(good, 'train:\n  # the lr\n  lr: 0.1\n');
  assert.equal((await resolveConfig(good)).train.lr, 0.1);
});
