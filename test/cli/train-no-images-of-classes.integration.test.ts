import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { existsSync } from 'node:fs';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('data.classes that select no training or no validation image are E_DATA naming them; the run "finished" with loss NaN and accuracy 0', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'none');
  // 5 training images and 1 validation image: the synthetic set deals labels 0, 1, 2, ... so dog (5) and truck (9) have none.
  const small = ['--data.synthetic.trainSize', '5', '--data.synthetic.valSize', '1', '--data.normalize', 'article'];
  const noTrain = trainer(['train', '-c', config, ...small, '--data.classes', '[dog, truck]']);
  assert.equal(noTrain.code, 2);
  assert.match(noTrain.stderr, /^error E_DATA: no training images of data\.classes \[dog, truck\] in .*synthetic-1-5-1\/cifar-10-batches-bin\n$/);
  const noVal = trainer(['train', '-c', config, '--data.synthetic.trainSize', '20', '--data.synthetic.valSize', '5', '--data.classes', '[truck, ship]']);
  assert.equal(noVal.code, 2);
  assert.match(noVal.stderr, /^error E_DATA: no validation images of data\.classes \[truck, ship\] in /);
  assert.equal(existsSync(join(dir, 'runs')), false, 'no run folder left behind, nor the runs/ folder made for it');
});
