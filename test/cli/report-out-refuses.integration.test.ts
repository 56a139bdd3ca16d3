import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile, trainer } from './cli-helpers.js';

test('report --out never replaces a file that is not an HTML page (it replaced the run\'s checkpoint); it replaces an earlier report', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'rep', 1)]).code, 0);
  const run = join(dir, 'runs', 'rep');
  const checkpoint = join(run, 'checkpoint', 'state.ckpt');
  const before = await readFile(checkpoint);
  const r = trainer(['report', run, '--out', checkpoint]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `error E_USAGE: --out ${checkpoint} exists and is not an HTML page: a report does not replace it (name another file)\n`);
  assert.deepEqual(await readFile(checkpoint), before);
  const page = join(dir, 'page.html');
  for (let i = 0; i < 2; i++) assert.equal(trainer(['report', run, '--out', page]).code, 0);
  assert.match(await readFile(page, 'utf8'), /^<!doctype html>/);
});

test('report --out through a symbolic link writes the file it names and keeps the link; a FIFO, a socket or a dangling link is E_USAGE (a FIFO held it for ever)', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'rep', 1)]).code, 0);
  const run = join(dir, 'runs', 'rep');
  await mkdir(join(dir, 'site'));
  const real = join(dir, 'site', 'page.html');
  await writeFile(real, '<!doctype html>old');
  const link = join(dir, 'link.html');
  await symlink(real, link);
  const r = trainer(['report', run, '--out', link]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${link}\n`);
  assert.ok((await lstat(link)).isSymbolicLink(), 'the link was replaced by a file');
  assert.match(await readFile(real, 'utf8'), /^<!doctype html>\n?<html/i);

  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const dangling = join(dir, 'dangling.html');
  await symlink(join(dir, 'nowhere', 'x.html'), dangling);
  for (const [out, why] of [[fifo, 'is a FIFO, not a file'], [dangling, 'is a symbolic link to nothing']] as const) {
    const t0 = Date.now();
    const x = trainer(['report', run, '--out', out]);
    assert.equal(x.stderr, `error E_USAGE: --out ${out} ${why}: a report is written to a file (name one)\n`);
    assert.equal(x.code, 2);
    assert.ok(Date.now() - t0 < 30_000);
  }
  assert.ok((await lstat(fifo)).isFIFO());
  assert.ok((await lstat(dangling)).isSymbolicLink());

  // `--out /dev/stdout | less`: a link to a pipe, which has no path; it was called a link to nothing.
  const piped = spawnSync('bash', ['-c', '"$@" | cat; exit "${PIPESTATUS[0]}"', 'bash', process.execPath, CLI, 'report', run, '--out', '/dev/stdout'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(piped.stderr, 'error E_USAGE: --out /dev/stdout is a FIFO, not a file: a report is written to a file (name one)\n');
  assert.equal(piped.status, 2);
});
