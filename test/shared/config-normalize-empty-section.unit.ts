import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { DEFAULT_CONFIG } from '../../src/shared/config.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

test('a config section left empty (its keys commented out) keeps the defaults, with or without flags for it', async () => {
  const dir = await tempDir();
  const file = join(dir, 'c.yaml');
  await writeFile(file, 'train:\n  # epochs: 3\ndata:\n');
  // Was "train Invalid input: expected object, received null", and with --train.epochs "train.batchSize … got nothing".
  assert.deepEqual((await resolveConfig(file)).train, DEFAULT_CONFIG.train);
  const withFlag = await resolveConfig(file, { train: { epochs: 1 } });
  assert.deepEqual(withFlag.train, { ...DEFAULT_CONFIG.train, epochs: 1 });
  assert.deepEqual(withFlag.data, DEFAULT_CONFIG.data);
});

test('data.normalize std below 1e-6 (or zero, or negative) is E_CONFIG at config time', async () => {
  for (const std of [[1e-300, 1, 1], [0, 1, 1], [1, -0.5, 1]]) {
    await assert.rejects(resolveConfig(undefined, { data: { normalize: { mean: [0, 0, 0], std } } }), (e) =>
      isTrainerError(e, 'E_CONFIG') && /data\.normalize\.std must be 3 numbers of at least 1e-6/.test(e.message),
    );
  }
  const ok = await resolveConfig(undefined, { data: { normalize: { mean: [0.5, 0.5, 0.5], std: [1e-6, 0.25, 2] } } });
  assert.deepEqual(ok.data.normalize, { mean: [0.5, 0.5, 0.5], std: [1e-6, 0.25, 2] });
});
