import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

test('a YAML merge key (<<: *name) is said to be unsupported: it was "unknown config key train.<<; did you mean train.lr?"', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-merge-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cases: [string, string][] = [
    ['train: &t {epochs: 2}\neval: {every: 1}\ncheckpoint:\n  <<: *t\n', 'checkpoint.<<: YAML merge keys (<<: *name) are not supported in a config: write the keys out under checkpoint'],
    ['train:\n  <<: {epochs: 1, batchSize: 64}\n  microBatches: 4\n', 'train.<<: YAML merge keys (<<: *name) are not supported in a config: write the keys out under train'],
    ['<<: {train: {epochs: 1}}\n', '<<: YAML merge keys (<<: *name) are not supported in a config: write the keys out'],
  ];
  for (const [i, [yaml, message]] of cases.entries()) {
    const file = join(dir, `c${i}.yaml`);
    await writeFile(file, yaml);
    await assert.rejects(resolveConfig(file), (err) => isTrainerError(err, 'E_CONFIG') && err.message === message, yaml);
  }
});
