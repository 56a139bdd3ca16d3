import assert from 'node:assert/strict';
import test from 'node:test';
import { extractConfigFlags } from '../../src/shared/config-file.js';

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

test('run.name is at most 200 bytes: a 254-byte name trained once, and its second run failed with ENAMETOOLONG on name-2', async () => {
  const { MAX_RUN_NAME_BYTES } = await import('../../src/shared/config.js');
  const { resolveConfig } = await import('../../src/shared/config-file.js');
  const { isTrainerError } = await import('../../src/shared/errors.js');
  assert.equal((await resolveConfig(undefined, { run: { name: 'd'.repeat(MAX_RUN_NAME_BYTES) } })).run.name.length, 200);
  // Bytes, not characters: 100 two-byte letters fit, 101 do not.
  assert.equal((await resolveConfig(undefined, { run: { name: 'é'.repeat(100) } })).run.name, 'é'.repeat(100));
  for (const name of ['d'.repeat(201), 'é'.repeat(101)]) {
    await assert.rejects(resolveConfig(undefined, { run: { name } }), (e) => isTrainerError(e, 'E_CONFIG') && /run\.name must be at most 200 bytes/.test(e.message));
  }
});
