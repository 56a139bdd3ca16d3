import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

const refusal = (got: string) => `data.md5 must be an md5: 32 hex digits in lower case, as md5sum prints them, got ${got}`;

test('data.md5 says what an md5 must look like: one in capitals (PowerShell\'s Get-FileHash) was "must be an md5 hex string"', async () => {
  const md5 = 'c32a1d4ab5d03f1284b67883e8d87530';
  assert.equal((await resolveConfig(undefined, { data: { md5 } })).data.md5, md5);
  for (const bad of [md5.toUpperCase(), md5.slice(1), `${md5}0`, 'not an md5']) {
    await assert.rejects(resolveConfig(undefined, { data: { md5: bad } }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === refusal(JSON.stringify(bad)));
  }
  await assert.rejects(resolveConfig(undefined, { data: { md5: 5 } }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === refusal('5'));
});
