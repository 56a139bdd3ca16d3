import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { resolveRunConfig } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint } from './checkpoint-fixtures.js';

test("--resume --config FILE refuses a mistyped key or a bad value with a new run's E_CONFIG (it resumed, and a note suggested --cluster.workerz, which was refused)", async () => {
  const dir = await tempDir();
  const stored = await sampleCheckpoint(dir, false);
  await saveCheckpoint(RunFolder.of(stored.config).checkpointFile, stored);
  const where = `run: {dir: ${JSON.stringify(stored.config.run.dir)}, name: ${stored.config.run.name}}\n`;
  const cases = [
    ['train: {epoch: 5}', /^unknown config key train\.epoch; did you mean train\.epochs\?$/],
    ['train: {lr: -1}', /^train\.lr .*, got -1$/],
    ['cluster: {workerz: 2}', /^unknown config key cluster\.workerz; did you mean cluster\.workers\?$/],
    ['data: {url: "ftp://mirror.example/c.tgz"}', /^data\.url must be an http/],
    ['data: {classes: [airplane, shipp]}', /^data\.classes: unknown class "shipp"/],
  ] as const;
  for (const [yaml, message] of cases) {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `${where}${yaml}\n`);
    const notes: string[] = [];
    const asNew = await resolveConfig(file).then(
      () => assert.fail(`a new run took ${yaml}`),
      (e: unknown) => e,
    );
    assert.ok(isTrainerError(asNew, 'E_CONFIG') && message.test(asNew.message), `${yaml}: ${String(asNew)}`);
    await assert.rejects(
      resolveRunConfig({ file, overrides: {}, resume: true, log: (l) => notes.push(l) }),
      (e) => isTrainerError(e, 'E_CONFIG') && e.message === asNew.message,
      yaml,
    );
    assert.deepEqual(notes, [], yaml);
  }
});

test('--resume --config FILE is not refused for what the file combines with the defaults: the resumed run combines the stored config with the flags', async () => {
  const dir = await tempDir();
  const stored = await sampleCheckpoint(dir, false);
  stored.config = { ...stored.config, train: { ...stored.config.train, microBatches: 8 } };
  await saveCheckpoint(RunFolder.of(stored.config).checkpointFile, stored);
  const file = join(dir, 'workers.yaml');
  // A new run with this file alone is refused: 8 workers, 4 micro-batches by default.
  await writeFile(file, `run: {dir: ${JSON.stringify(stored.config.run.dir)}, name: ${stored.config.run.name}}\ncluster: {workers: 8}\n`);
  await assert.rejects(resolveConfig(file), (e) => isTrainerError(e, 'E_CONFIG') && /cluster\.workers \(8\) must not exceed/.test(e.message));
  const notes: string[] = [];
  const config = await resolveRunConfig({ file, overrides: {}, resume: true, log: (l) => notes.push(l) });
  assert.equal(config.cluster.workers, 1);
  assert.deepEqual(notes, [`note: ${file} sets cluster.workers 8; the resumed run keeps its own 1 (--cluster.workers 8 changes it)`]);
});
