import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('a run folder the file system refuses (under /proc) is E_IO at once: the run neither hangs nor spins', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-proc-'));
  try {
    const config = await smallConfigFile(dir);
    const r = trainer(['train', '-c', config, '--run.dir', '/proc/trainer-no-such']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error E_IO: cannot write /proc/trainer-no-such/run: no such file or folder (ENOENT)\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
