import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { expectFailures, smallConfigFile } from './cli-helpers.js';

test('a number option given a word or nothing, and --threads with --procs, are usage errors naming what was given; nothing runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-numbers-'));
  try {
    const config = await smallConfigFile(dir);
    const cases: [string[], string][] = [
      [['train', '-c', config, '--threads', 'abc'], 'error E_USAGE: --threads must be a number, got "abc" (see trainer train --help)\n'],
      [['train', '-c', config, '--procs=two'], 'error E_USAGE: --procs must be a number, got "two" (see trainer train --help)\n'],
      // Without a value, the run used to go on in-process, as if the flag had not been given.
      [['train', '-c', config, '--threads', '--quiet'], 'error E_USAGE: --threads needs a number (see trainer train --help)\n'],
      [['train', '-c', config, '--status-port', 'eighty'], 'error E_USAGE: --status-port must be a number, got "eighty" (see trainer train --help)\n'],
      [['coordinator', '-c', config, '--port', 'x'], 'error E_USAGE: --port must be a number, got "x" (see trainer coordinator --help)\n'],
      [['worker', '--connect', '127.0.0.1:9', '--gpu', 'first'], 'error E_USAGE: --gpu must be a number, got "first" (see trainer worker --help)\n'],
      [['train', '-c', config, '--threads', '2', '--procs', '2'], 'error E_USAGE: --threads and --procs are two ways to run the workers: give one of them\n'],
      // One letter: no "did you mean" (every other letter is as near), and a short flag is written with one dash.
      [['worker', '-c', config, '--connect', '127.0.0.1:9'], 'error E_USAGE: unknown option -c (see trainer worker --help)\n'],
    ];
    expectFailures(cases);
    assert.equal(existsSync(join(dir, 'runs')), false, 'no run was started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
