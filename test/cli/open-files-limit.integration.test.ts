// A low limit on open files (`ulimit -n`: a container's, a CI runner's, a login's) stopped trainer
// with a Node stack trace (`Error: EMFILE: too many open files, open '.../yargs/...'`) while its
// modules loaded, or with `E_BACKEND: EMFILE ...` while its compute threads did: neither said
// that the limit was what to change. Each limit here either trains or ends with one E_IO line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile } from './cli-helpers.js';

const LINE = /^error E_IO: too many open files \(EMFILE\): this process reached its limit( of \d+)? \(ulimit -n\); raise it, e\.g\. ulimit -n 4096, and run again$/;

test('trainer train --threads 2 under a low ulimit -n trains or ends with one E_IO line naming the limit, exit 1', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = await smallConfigFile(dir, 'run', 1);
  // Where the limit is met moves with what loads in parallel: every limit from where Node itself
  // barely starts to where the run trains is one or the other, and some of them fail.
  let failed = 0;
  for (let limit = 28; limit <= 60; limit += 4) {
    const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${limit} && exec "$@"`, 'sh', process.execPath, CLI, 'train', '--config', config, '--threads', '2'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const shown = `ulimit -n ${limit}: status ${r.status}\n${r.stderr}`;
    assert.doesNotMatch(r.stderr, /node:internal|\n\s+at |E_BACKEND|E_INTERNAL/, shown);
    if (r.status === 0) continue;
    failed++;
    assert.equal(r.status, 1, shown);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error'));
    assert.equal(errors.length, 1, shown);
    assert.match(errors[0] as string, LINE, shown);
  }
  assert.ok(failed > 0, 'no limit was low enough to be met');
});
