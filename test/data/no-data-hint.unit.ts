import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { DEFAULT_CONFIG } from '../../src/shared/config.js';
import { loadRunData, runTraining } from '../../src/coordinator/run.js';
import { writeSyntheticCifar } from '../../src/data/synthetic.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';

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
  assert.equal(await hint(true), '--data.download true, or --data.path where the run\'s data is now');
});

test('a resumed run whose CIFAR-10 files are gone is not told to use synthetic data: a resume refuses another data.source', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'cifar');
  await writeSyntheticCifar(data, { trainSize: 300, valSize: 50, seed: 1 });
  const config = smallConfig(dir, { data: { source: 'cifar10', path: data } });
  assert.equal((await trainStoppedAt(config, 2)).outcome, 'stopped');
  await rm(data, { recursive: true });
  await assert.rejects(
    runTraining({ config, resume: true, createPool: createInProcessPool, log: quietLog }),
    (err) => isTrainerError(err, 'E_DATA') && err.message.endsWith(' or pass --data.download true, or --data.path where the run\'s data is now'),
  );
});
