import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

test('a key written without a space after its colon (epochs:1) is said to be one: it was "train must be a section of keys, got "epochs:1"" and the like', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-colon-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const hint = (kv: string) => ` (YAML needs a space after a key's colon: ${kv})`;
  const cases: [string, string][] = [
    ['train:\n  epochs:1\n', `train must be a section of keys, got "epochs:1"${hint('epochs: 1')}`],
    ['data:\n  classes:[airplane, ship]\n', `data must be a section of keys, got "classes:[airplane, ship]"${hint('classes: [airplane, ship]')}`],
    ['backend:cpu\n', `config file FILE must hold a mapping of sections${hint('backend: cpu')}`],
    ['train:\n  epochs: 1\n  lr:0.1\n', `config file FILE is not valid YAML: Implicit map keys need to be followed by map values at line 3, column 3${hint('lr: 0.1')}`],
    ['train:\r\n  epochs: 1\r\nbackend:cpu\r\n', `config file FILE is not valid YAML: Implicit map keys need to be followed by map values at line 3, column 1${hint('backend: cpu')}`],
    // Not a missing space: no hint.
    ['data: https://example.com/c.tar.gz\n', 'data must be a section of keys, got "https://example.com/c.tar.gz"'],
    ['train:\n  epochs: 1\n   lr: 0.1\n', 'config file FILE is not valid YAML: Nested mappings are not allowed in compact mappings at line 2, column 11'],
  ];
  for (const [i, [yaml, message]] of cases.entries()) {
    const file = join(dir, `c${i}.yaml`);
    await writeFile(file, yaml);
    await assert.rejects(resolveConfig(file), (err) => {
      assert.ok(isTrainerError(err, 'E_CONFIG'), String(err));
      assert.equal(err.message, message.replace('FILE', file), yaml);
      return true;
    });
  }
});
