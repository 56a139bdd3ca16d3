import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

const tokenOf = async (token: string | null) => (await resolveConfig(undefined, { cluster: { token } })).cluster.token;

test('a blank cluster.token is E_CONFIG; it was none, and TRAINER_TOKEN (or no token) stood in for it without a word', async () => {
  for (const blank of ['', '   ', '\t\n']) {
    await assert.rejects(
      tokenOf(blank),
      (err) => isTrainerError(err, 'E_CONFIG') && err.message === `cluster.token is blank, got ${JSON.stringify(blank)}: give the token, or null for none (TRAINER_TOKEN is then read)`,
    );
  }
  assert.equal(await tokenOf(null), null);
  // Spaces around a token are the resolver's to trim (a token read from a file ends with a newline).
  assert.equal(await tokenOf(' a1b2c3d4e5f6a7b8c9d0\n'), ' a1b2c3d4e5f6a7b8c9d0\n');
});
