import test from 'node:test';
import { expectFailures } from './cli-helpers.js';

test('doctor --software-limit must be a positive integer: E_USAGE before any probe (it failed a row with E_CONFIG after every probe and an epoch)', () => {
  expectFailures([
    [['doctor', '--train', '--software-limit', '-1'], 'error E_USAGE: --software-limit must be a positive integer (images), got -1\n'],
    [['doctor', '--train', '--software-limit', '0'], 'error E_USAGE: --software-limit must be a positive integer (images), got 0\n'],
    [['doctor', '--software-limit', '2.5'], 'error E_USAGE: --software-limit must be a positive integer (images), got 2.5\n'],
  ]);
});
