import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile, trainer } from './cli-helpers.js';

test('eval takes only where the data is and its task size of the config keys; report, predict and worker take none; eval checks --backend', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'keys', 1);
  assert.equal(trainer(['train', '-c', config]).code, 0);
  const run = join(dir, 'runs', 'keys');
  const evalKeys = '--data.path, --data.download, --data.url, --data.md5, --eval.batchSize';
  const cases: [string[], string][] = [
    // Scored the 10-class model against images relabelled ship → 0, truck → 1, and printed accuracies.
    [['eval', run, '--data.classes', '[ship, truck]'], `error E_USAGE: trainer eval takes only ${evalKeys} of the run's config keys, not --data.classes (see trainer eval --help)\n`],
    // Replaced the whole data.synthetic section: "data.synthetic.trainSize must be an integer …, got nothing".
    [['eval', run, '--data.synthetic.seed', '2'], `error E_USAGE: trainer eval takes only ${evalKeys} of the run's config keys, not --data.synthetic.seed (see trainer eval --help)\n`],
    // Fell through to the cpu backend.
    [['eval', run, '--backend', 'wsam'], 'error E_USAGE: --backend must be one of auto, tensorflow-gpu, tensorflow, webgpu, wasm, cpu; got "wsam"\n'],
    // Ignored.
    [['report', run, '--train.epochs', '99'], 'error E_USAGE: trainer report takes no config keys, not --train.epochs (see trainer report --help)\n'],
    [['predict', 'x.png', '--run', run, '--model.name', 'fc'], 'error E_USAGE: trainer predict takes no config keys, not --model.name (see trainer predict --help)\n'],
    [['worker', '--connect', '127.0.0.1:9', '--train.lr', '0.1'], 'error E_USAGE: trainer worker takes no config keys, not --train.lr (see trainer worker --help)\n'],
  ];
  expectFailures(cases);
  // What eval does take still works: the data's folder and the task size.
  const ok = trainer(['eval', run, '--data.path', join(dir, 'data'), '--eval.batchSize', '50', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).backend, 'wasm');
});
