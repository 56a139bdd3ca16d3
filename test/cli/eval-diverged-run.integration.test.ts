import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('eval of a run without a model whose checkpoint is at an epoch\'s end names, beside --resume, how to end it there (a diverged run diverges again on --resume, the only way it named); the model that writes is the checkpoint\'s, and eval and predict call it no "model of the run\'s earlier end"', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'div', 1)]).code, 0);
  const runs = join(dir, 'runs');
  const run = join(runs, 'div');
  // What a run of 3 epochs that diverged in its second leaves: the checkpoint of epoch 1, no model.
  const file = join(run, 'checkpoint', 'state.ckpt');
  const ck = await loadCheckpoint(file);
  await saveCheckpoint(file, { ...ck, config: { ...ck.config, train: { ...ck.config.train, epochs: 3 } } });
  await rm(join(run, 'model'), { recursive: true });
  const resume = `trainer train --run.dir ${runs} --run.name div --resume`;
  const r = trainer(['eval', run]);
  assert.deepEqual([r.code, r.stdout, r.stderr], [
    1,
    '',
    `error E_MODEL: ${run} has no model yet: the run stopped before its end; finish it with ${resume} ` +
      `(a run that stopped with E_DIVERGED diverges again; ${resume} --train.epochs 1 ends it at its checkpoint, epoch 1, and writes that model)\n`,
  ]);
  // The command named works: it writes the checkpoint's model.
  const end = trainer(['train', '--run.dir', runs, '--run.name', 'div', '--resume', '--train.epochs', '1']);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stdout, /model saved to /);
  // That model is the checkpoint, though the checkpoint keeps 3 epochs: eval and predict said it was
  // "the model of the run's earlier end" and to finish the run with --resume.
  const image = join(dir, 'x.png');
  await writeFile(image, PNG.sync.write(new PNG({ width: 8, height: 8 })));
  for (const args of [['eval', run, '--json'], ['predict', '--run', run, image, '--json']]) {
    const e = trainer(args);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stderr, '', args[0]);
  }
});
