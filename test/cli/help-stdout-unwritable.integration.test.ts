// `trainer --version > file` or `trainer train --help > file` on a full disk (here /dev/full, whose
// every write is ENOSPC): yargs exited 0 at once after printing, before the failed write was heard,
// so a script saw success and an empty file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import test from 'node:test';
import { CLI, trainer } from './cli-helpers.js';

test('the help and the version on an unwritable stdout are E_IO, exit 1; written, exit 0 as before', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  for (const args of [['--version'], ['--help'], ['train', '--help'], ['coordinator', '-h'], ['worker', '--help']]) {
    const full = openSync('/dev/full', 'w');
    const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
    closeSync(full);
    assert.equal(r.stderr, 'error E_IO: cannot write standard output: ENOSPC\n', args.join(' '));
    assert.equal(r.status, 1, args.join(' '));
    const ok = trainer(args);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.stdout.length > 0);
  }
});
