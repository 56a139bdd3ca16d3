import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('eval and predict say nothing of a model written by --resume --train.epochs lowered to the checkpoint: it is the checkpoint (they called it "the model of the run\'s earlier end")', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'short', 1)]).code, 0);
  const run = join(dir, 'runs', 'short');
  // What a run of 3 epochs leaves when it stops after its first (diverged in its second, say): a
  // checkpoint at the end of epoch 1 and no model.
  const file = join(run, 'checkpoint', 'state.ckpt');
  const ck = await loadCheckpoint(file);
  await saveCheckpoint(file, { ...ck, config: { ...ck.config, train: { ...ck.config.train, epochs: 3 } } });
  await rm(join(run, 'model'), { recursive: true });
  // Ended there: the model is written from that checkpoint.
  const end = trainer(['train', '--run.dir', join(dir, 'runs'), '--run.name', 'short', '--resume', '--train.epochs', '1']);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stdout, /model saved to /);
  const image = join(dir, 'x.png');
  await writeFile(image, PNG.sync.write(new PNG({ width: 8, height: 8 })));
  for (const args of [['eval', run, '--json'], ['predict', '--run', run, image, '--json']]) {
    const r = trainer(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', args[0]);
  }
});
