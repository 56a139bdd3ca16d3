import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { resolveRunConfig } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { smallConfigFile, trainer } from '../cli/cli-helpers.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

// 300 examples, batch 64: 5 steps an epoch.
const small = (dir: string) => smallConfig(dir, { run: { name: 'r' }, data: { synthetic: { trainSize: 300 } }, train: { epochs: 2 } });

test('--resume takes the stored config: no --config needed, a YAML file does not cut the run short, more epochs extend it, another model is refused', async () => {
  const dir = await tempDir();
  const started = small(dir);
  await runTraining({ config: started, resume: false, createPool: createInProcessPool, log: quietLog });
  const where = { run: { dir: started.run.dir, name: 'r' } };
  const notes: string[] = [];
  const log = (l: string) => notes.push(l);

  // Only where the run is: everything else (synthetic data, its size, the optimiser) comes from the checkpoint.
  const stored = await resolveRunConfig({ overrides: where, resume: true, log });
  assert.deepEqual(stored, started);
  const lines: string[] = [];
  const again = await runTraining({ config: stored, resume: true, createPool: createInProcessPool, log: quietLog, result: (l) => lines.push(l) });
  assert.equal(again.outcome, 'already-finished');
  assert.match(lines.join('\n'), /already finished its 2 epochs .*--train\.epochs N with N > 2 trains it on/);

  const extended = await resolveRunConfig({ overrides: { ...where, train: { epochs: 3 } }, resume: true, log });
  assert.equal(extended.train.epochs, 3);
  assert.equal((await runTraining({ config: extended, resume: true, createPool: createInProcessPool, log: quietLog })).outcome, 'finished');
  assert.deepEqual((await new RunFolder(join(started.run.dir, 'r')).readMetrics()).map((m) => m.epoch), [1, 2, 3]);

  // A YAML file that says 2 epochs locates the run but does not shorten it: the stored 3 stay, and the file's value is named.
  const yaml = join(dir, 'r.yaml');
  await writeFile(yaml, `run: {name: r, dir: ${JSON.stringify(started.run.dir)}}\ntrain: {epochs: 2}\n`);
  const fromYaml = await resolveRunConfig({ file: yaml, overrides: {}, resume: true, log });
  assert.equal(fromYaml.train.epochs, 3);
  assert.match(notes.join('\n'), /r\.yaml sets train\.epochs 2; the resumed run keeps its own 3 \(--train\.epochs 2 changes it\)/);

  // Where the data comes from may change (a mirror for data.url, its archive's md5); which images may not.
  const mirrored = await resolveRunConfig({ overrides: { ...where, data: { url: 'https://mirror.example/cifar-10-binary.tar.gz', md5: '0'.repeat(32) } }, resume: true, log });
  assert.equal(mirrored.data.url, 'https://mirror.example/cifar-10-binary.tar.gz');
  await assert.rejects(
    resolveRunConfig({ overrides: { ...where, data: { limitTrain: 100 } }, resume: true, log }),
    (e) => isTrainerError(e, 'E_CHECKPOINT') && /data\.limitTrain differs/.test(e.message),
  );
  await assert.rejects(
    resolveRunConfig({ overrides: { ...where, model: { name: 'fc' } }, resume: true, log }),
    (e) => isTrainerError(e, 'E_CHECKPOINT') && /model\.name differs from the checkpoint's config \("fc", the run has "net"\)/.test(e.message),
  );
  await assert.rejects(
    resolveRunConfig({ overrides: { run: { ...where.run, name: 'nothing-here' } }, resume: true, log }),
    (e) => isTrainerError(e, 'E_CHECKPOINT') && /no checkpoint to resume from in .*nothing-here/.test(e.message),
  );
});

test('trainer train --resume with only --run.name and --run.dir continues from the stored config', async () => {
  const dir = await tempDir();
  const t = trainer(['train', '--config', await smallConfigFile(dir, 'cli', 1), '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  const r = trainer(['train', '--run.dir', join(dir, 'runs'), '--run.name', 'cli', '--resume', '--train.epochs', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /resuming .*cli at epoch 2 of 2, step 5/);
  assert.match(r.stdout, / Epoch 2, Training loss /);
});

test('a run stored with a task above today\'s 4,096-example bound resumes with a flag that changes it; without one the error says the stored config is refused', async () => {
  const dir = await tempDir();
  const started = small(dir);
  await runTraining({ config: started, resume: false, createPool: createInProcessPool, log: quietLog });
  const folder = RunFolder.of(started);
  // What an older version wrote: eval.batchSize 10,000 was allowed then.
  const ck = await loadCheckpoint(folder.checkpointFile);
  await saveCheckpoint(folder.checkpointFile, { ...ck, config: { ...ck.config, eval: { ...ck.config.eval, batchSize: 10_000 } } });
  const where = { run: { dir: started.run.dir, name: 'r' } };
  await assert.rejects(
    resolveRunConfig({ overrides: where, resume: true, log: quietLog }),
    (e) =>
      isTrainerError(e, 'E_CONFIG') &&
      e.message === `${folder.dir} stores a config this version refuses: eval.batchSize must be a positive integer of at most 4096 (a task's images must fit the 4 GiB memory of the wasm backend), got 10000 (a flag may change what is not the run's data, model or optimisation)`,
  );
  // It was refused with the flag too: the stored config was validated on its own.
  const fixed = await resolveRunConfig({ overrides: { ...where, eval: { batchSize: 1000 }, train: { epochs: 3 } }, resume: true, log: quietLog });
  assert.equal(fixed.eval.batchSize, 1000);
  const r = await runTraining({ config: fixed, resume: true, createPool: createInProcessPool, log: quietLog });
  assert.equal(r.outcome, 'finished');
});
