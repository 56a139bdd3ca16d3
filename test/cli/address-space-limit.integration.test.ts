// A limit on the address space (`ulimit -v`: SGE's h_vmem, limits.conf on a login node) below
// what WebAssembly reserves (about 10 GiB a memory, whatever the run's size) ended trainer train
// with `E_INTERNAL: WebAssembly.Memory(): could not allocate memory` (a bug of ours, it said), and
// --threads 2 with `E_BACKEND: backend wasm did not load: the wasm backend did not initialise`:
// neither named the limit. Both now end with one E_BACKEND line naming it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile } from './cli-helpers.js';

const KB = 8_000_000;

test('trainer train under ulimit -v of 8 GB ends with one E_BACKEND line naming the limit, in-process and on 2 threads, exit 1', { skip: process.platform !== 'linux' && '/proc/self/limits is Linux' }, async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = await smallConfigFile(dir, 'run', 1);
  for (const extra of [['--backend', 'auto'], ['--threads', '2']]) {
    const r = spawnSync('/bin/sh', ['-c', `ulimit -v ${KB} && exec "$@"`, 'sh', process.execPath, CLI, 'train', '--config', config, ...extra], { encoding: 'utf8', timeout: 120_000 });
    const shown = `${extra.join(' ')}: status ${r.status}\n${r.stderr}`;
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error'));
    assert.equal(errors.length, 1, shown);
    assert.match(
      errors[0] as string,
      new RegExp(`^error E_BACKEND: .*this process may use only 8 GiB of address space \\(ulimit -v ${KB}\\), and WebAssembly reserves about 10 GiB of it for each memory, several in each compute thread: remove the limit \\(ulimit -v unlimited\\) or raise it$`),
      shown,
    );
    assert.equal(r.status, 1, shown);
  }
});
