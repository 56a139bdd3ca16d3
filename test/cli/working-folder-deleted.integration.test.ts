// A command started in a folder deleted while the shell stayed in it (a clone removed and made
// again from another terminal, a CI workspace cleaned under a job) was E_INTERNAL, a bug of ours:
// `ENOENT: no such file or directory, uv_cwd`, for every command, --version included.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI } from './cli-helpers.js';

/** Runs the CLI from DIR, which the shell removes (and makes again when `again`) just before. */
function fromDeleted(dir: string, again: boolean, args: string[]): { status: number | null; stderr: string } {
  const script = `cd "$1" && rmdir "$1" && ${again ? 'mkdir "$1" && ' : ''}shift && exec "$@"`;
  const r = spawnSync('/bin/sh', ['-c', script, 'sh', dir, process.execPath, CLI, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PWD: dir },
  });
  return { status: r.status, stderr: r.stderr };
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error ')).join('\n');

test('a command started in a deleted folder is one E_IO line naming it, exit 1, for --version as for train', async (t) => {
  const base = await tempDir();
  t.after(() => rm(base, { recursive: true, force: true }));
  for (const args of [['--version'], ['train', '--config', 'c.yaml'], ['eval', '--run', join(base, 'runs', 'x')]]) {
    const dir = join(base, `gone-${args[0]}`);
    await mkdir(dir);
    const r = fromDeleted(dir, false, args);
    assert.equal(errorLines(r.stderr), `error E_IO: the current folder ${dir} was deleted (ENOENT): cd to a folder that exists`, r.stderr);
    assert.equal(r.status, 1);
  }
  const dir = join(base, 'made-again');
  await mkdir(dir);
  const r = fromDeleted(dir, true, ['train', '--config', 'c.yaml']);
  assert.equal(errorLines(r.stderr), `error E_IO: the current folder ${dir} was deleted (ENOENT) and made again since: cd to it anew (cd ${JSON.stringify(dir)})`, r.stderr);
  assert.equal(r.status, 1);
});
