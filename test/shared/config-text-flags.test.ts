import assert from 'node:assert/strict';
import test from 'node:test';
import { extractConfigFlags } from '../../src/shared/config.js';

test('dotted flags of text keys keep the text as typed; the others are read as YAML', () => {
  const { overrides } = extractConfigFlags([
    '--run.name', 'exp #3', // YAML: "exp" (a comment)
    '--data.path=my data #1',
    '--run.dir', '~', // YAML: null
    '--data.md5', '007', // YAML: 7
    '--cluster.token', '12345678901234567890', // YAML: 12345678901234567000
    '--cluster.tls.cert', 'null', // a nullable text key: null is typed as null
    '--train.lr', '1e-3',
    '--data.classes', '[airplane, ship]',
  ]);
  assert.deepEqual(overrides, {
    run: { name: 'exp #3', dir: '~' },
    data: { path: 'my data #1', md5: '007', classes: ['airplane', 'ship'] },
    cluster: { token: '12345678901234567890', tls: { cert: null } },
    train: { lr: 0.001 },
  });
});
