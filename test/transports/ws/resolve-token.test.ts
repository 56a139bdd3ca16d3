import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveToken } from '../../../src/transports/ws/auth.js';

test('the token comes from cluster.token, else TRAINER_TOKEN, without the spaces and newline around it', () => {
  assert.equal(resolveToken('from-config-0123456789', { TRAINER_TOKEN: 'from-env-0123456789' }), 'from-config-0123456789');
  assert.equal(resolveToken(null, { TRAINER_TOKEN: 'from-env-0123456789' }), 'from-env-0123456789');
  // A Secret made with kubectl --from-file, or a file read whole, ends with a newline: the side
  // that has it and the side that has not hold one token.
  assert.equal(resolveToken(null, { TRAINER_TOKEN: 'a1b2c3d4e5f6a7b8c9d0\n' }), 'a1b2c3d4e5f6a7b8c9d0');
  assert.equal(resolveToken('  a1b2c3d4e5f6a7b8c9d0\t', {}), 'a1b2c3d4e5f6a7b8c9d0');
});

test('a token of spaces only is no token (it passed the 16-character rule as 20 spaces)', () => {
  assert.equal(resolveToken(' '.repeat(20), {}), null);
  assert.equal(resolveToken(null, { TRAINER_TOKEN: ' '.repeat(20) }), null);
  assert.equal(resolveToken(' '.repeat(20), { TRAINER_TOKEN: 'from-env-0123456789' }), 'from-env-0123456789');
  assert.equal(resolveToken(null, { TRAINER_TOKEN: '\n' }), null);
  assert.equal(resolveToken(null, {}), null);
});
