import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import test from 'node:test';
import { DEFAULT_CONFIG } from '../../src/shared/config.js';
import { loadRunData } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

test('without CIFAR-10 files, train is told it may use synthetic data, eval (which scores the run on its own data) is not: it refused the flag it was told to use', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = { ...structuredClone(DEFAULT_CONFIG), data: { ...DEFAULT_CONFIG.data, source: 'cifar10' as const, path: dir, download: false } };
  const hint = (fixedSource: boolean) =>
    loadRunData(config, { fixedSource }).then(
      () => assert.fail('loaded'),
      (err: unknown) => (isTrainerError(err, 'E_DATA') ? err.message.replace(/^.* or pass /, '') : String(err)),
    );
  assert.equal(await hint(false), '--data.download true, or use --data.source synthetic');
  assert.equal(await hint(true), '--data.download true');
});
