import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { extractConfigFlags, resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

test('a path key starting with ~ or ~/ is the home folder, in a file and in a flag: the run made a folder named ~ where it ran', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-home-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.yaml');
  await writeFile(file, ['run: {dir: ~/runs}', 'data: {path: ~/cifar}', 'cluster: {tls: {cert: ~/tls/cert.pem, key: "~/tls/key.pem"}}', ''].join('\n'));
  const c = await resolveConfig(file);
  assert.equal(c.run.dir, join(homedir(), 'runs'));
  assert.equal(c.data.path, join(homedir(), 'cifar'));
  assert.equal(c.cluster.tls.cert, join(homedir(), 'tls', 'cert.pem'));
  assert.equal(c.cluster.tls.key, join(homedir(), 'tls', 'key.pem'));

  // No shell expands `--key=~/x`; a lone "~" in a flag is text, the home folder itself.
  const { overrides } = extractConfigFlags(['--data.path=~/cifar', '--run.dir', '~']);
  const f = await resolveConfig(undefined, overrides);
  assert.equal(f.data.path, join(homedir(), 'cifar'));
  assert.equal(f.run.dir, homedir());

  // Other paths and names are as typed: a ~ inside a path, a run named ~.
  const kept = await resolveConfig(undefined, { run: { dir: 'a/~/b', name: '~' }, data: { path: '/x/~' } });
  assert.deepEqual([kept.run.dir, kept.run.name, kept.data.path], ['a/~/b', '~', '/x/~']);
});

test('a path key starting with ~user is refused, and a bare ~ in YAML (null) is named as such', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-home-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(
    resolveConfig(undefined, { data: { path: '~alice/cifar' } }),
    (err) => isTrainerError(err, 'E_CONFIG') && err.message === 'data.path "~alice/cifar": only ~ and ~/ are read as the home folder; write the full path (or ./~alice/cifar for a folder of that name)',
  );
  const file = join(dir, 'c.yaml');
  await writeFile(file, 'run:\n  dir: ~\n');
  await assert.rejects(
    resolveConfig(file),
    (err) => isTrainerError(err, 'E_CONFIG') && err.message === 'run.dir must be a string, got null (YAML reads a bare ~ as null: write "~" in quotes, or the full path)',
  );
});
