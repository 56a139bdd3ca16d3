import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DataOptions } from '../../src/data/dataset.js';
import { makeCifarTarball, writeSyntheticCifar } from '../../src/data/synthetic.js';
import { options, tempDir, writeBatches } from './fixtures.js';

/** nobody: root reads any folder, so the loads run as this user when the tests run as root. */
const NOBODY = 65534;
const asUser = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};

/** loadDatasets(opts) in a process the folder's permissions apply to: its E_ code and message, or null when it loads. */
function loadAsUser(opts: DataOptions): { code: string; message: string } | null | 'cannot-run' {
  const dataset = new URL('../../src/data/dataset.js', import.meta.url).href;
  const script =
    `const { loadDatasets } = await import(${JSON.stringify(dataset)});` +
    `try { await loadDatasets(${JSON.stringify(opts)}); console.log('null'); }` +
    `catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', ...asUser });
  if (r.status !== 0) return 'cannot-run';
  return JSON.parse(r.stdout) as { code: string; message: string } | null;
}

test('a data folder this user may not look into is E_DATA saying so, not "no CIFAR-10 data in DIR: put … there" (or E_INTERNAL when downloading or generating)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(async () => {
    await chmod(join(dir, 'cifar'), 0o755).catch(() => {});
    await chmod(join(dir, 'synthetic', 'synthetic-1-50-20'), 0o755).catch(() => {});
    await cleanup();
  });
  await chmod(dir, 0o755);
  if (loadAsUser(options(join(dir, 'none'))) === 'cannot-run') return t.skip(`the compiled code cannot run as uid ${NOBODY} here`);

  // CIFAR-10 batches in a folder that cannot be looked into: with or without download.
  const cifar = join(dir, 'cifar');
  await writeBatches(cifar, [[1], [2], [3], [4], [5]], [0]);
  await chmod(cifar, 0o000);
  const refusal = `cannot look for cifar-10-batches-bin in ${cifar}: permission denied (EACCES) (data.path and its folders must be readable)`;
  assert.deepEqual(loadAsUser(options(cifar)), { code: 'E_DATA', message: refusal });
  assert.deepEqual(loadAsUser(options(cifar, { download: true, url: 'http://127.0.0.1:9/cifar-10-binary.tar.gz' })), { code: 'E_DATA', message: refusal });
  await chmod(cifar, 0o755);
  assert.equal(loadAsUser(options(cifar)), null);

  // A synthetic set there but out of sight was generated again over it, and failed with E_INTERNAL.
  const synthetic = join(dir, 'synthetic');
  const set = join(synthetic, 'synthetic-1-50-20');
  await writeSyntheticCifar(set, { trainSize: 50, valSize: 20, seed: 1 });
  await chmod(set, 0o000);
  assert.deepEqual(loadAsUser(options(synthetic, { source: 'synthetic' })), {
    code: 'E_DATA',
    message: `cannot look for cifar-10-batches-bin in ${set}: permission denied (EACCES) (data.path and its folders must be readable)`,
  });
  await chmod(set, 0o755);
  assert.equal(loadAsUser(options(synthetic, { source: 'synthetic' })), null);

  // An archive that cannot be read is said so: not "cannot extract it into DIR … (the archive is not at fault)".
  const archived = join(dir, 'archived');
  await mkdir(archived);
  await makeCifarTarball(set, join(dir, 'a.tar.gz'));
  await copyFile(join(dir, 'a.tar.gz'), join(archived, 'cifar-10-binary.tar.gz'));
  await chmod(archived, 0o777);
  await chmod(join(archived, 'cifar-10-binary.tar.gz'), 0o000);
  assert.deepEqual(loadAsUser(options(archived)), {
    code: 'E_DATA',
    message: `cannot read ${join(archived, 'cifar-10-binary.tar.gz')}: permission denied (EACCES)`,
  });
});
