import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CIFAR10_TARBALL } from '../../src/data/download.js';
import { makeCifarTarball } from '../../src/data/synthetic.js';
import { options, tempDir, writeBatches } from './fixtures.js';

const DISK_KIB = 64;

/**
 * Runs `script` (an ES module) in a child with a `DISK_KIB` tmpfs mounted on each of `disks`, in a
 * mount namespace of its own (unshare: no root needed where user namespaces are allowed, nothing
 * to unmount after); null where this machine allows none.
 */
function withSmallDisks(disks: string[], script: string): string | null {
  if (spawnSync('unshare', ['-rm', 'true']).status !== 0) return null;
  const mounts = disks.map((_, i) => `mount -t tmpfs -o size=${DISK_KIB}k tmpfs "$${i + 2}" || exit 77`).join('; ');
  const r = spawnSync('unshare', ['-rm', 'bash', '-c', `${mounts}; exec "$0" --input-type=module -e "$1"`, process.execPath, script, ...disks], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status === 77) return null;
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a full disk while writing the data (a synthetic set, an extraction, a download) is E_IO, as for any other file, in words naming the folder', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const [synthetic, extract, download] = ['synthetic', 'extract', 'download'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [synthetic, extract, download]) await mkdir(d);
  // A tarball of a few kB (patterned records compress well) that unpacks to 184 kB.
  const source = join(dir, 'source');
  await writeBatches(source, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]].map((l) => [...l, ...l, ...l, ...l, ...l]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const tarball = join(dir, CIFAR10_TARBALL);
  await makeCifarTarball(source, tarball);

  const dataset = new URL('../../src/data/dataset.js', import.meta.url).href;
  const outcome = `.then(() => null, (e) => ({ code: e.code, message: e.message }))`;
  const script = `
    import http from 'node:http';
    import { copyFile } from 'node:fs/promises';
    const { loadDatasets } = await import(${JSON.stringify(dataset)});
    const results = {};
    results.synthetic = await loadDatasets(${JSON.stringify(options(synthetic, { source: 'synthetic' }))})${outcome};
    await copyFile(${JSON.stringify(tarball)}, ${JSON.stringify(join(extract, CIFAR10_TARBALL))});
    results.extract = await loadDatasets(${JSON.stringify(options(extract))})${outcome};
    // 256 kB, four times the disk.
    const server = http.createServer((req, res) => res.end(Buffer.alloc(256_000, 7)));
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    const url = 'http://127.0.0.1:' + server.address().port + '/cifar-10-binary.tar.gz';
    results.download = await loadDatasets({ ...${JSON.stringify(options(download, { download: true }))}, url })${outcome};
    server.close();
    console.log(JSON.stringify(results));`;
  const out = withSmallDisks([synthetic, extract, download], script);
  if (out === null) return t.skip('needs a tmpfs mount (root, or unprivileged user namespaces)');
  const results = JSON.parse(out) as Record<string, { code: string; message: string } | null>;

  // They were E_DATA (exit 2: "the same command fails again", a Kubernetes Job failed at once) for
  // the synthetic set and the extraction, and E_DOWNLOAD for the download.
  assert.deepEqual(results.synthetic, {
    code: 'E_IO',
    message: `cannot write the synthetic data set into ${join(synthetic, 'synthetic-1-50-20')}: no space left on the device (ENOSPC) (the set takes about 1 MB)`,
  });
  assert.deepEqual(results.extract, {
    code: 'E_IO',
    message: `cannot extract ${join(extract, CIFAR10_TARBALL)} into ${extract}: no space left on the device (ENOSPC) (the archive is not at fault: its files take about 180 MB)`,
  });
  assert.equal(results.download?.code, 'E_IO', JSON.stringify(results.download));
  assert.match(results.download.message, new RegExp(`^download of http://127\\.0\\.0\\.1:\\d+/cifar-10-binary\\.tar\\.gz stopped after \\d+ of 256000 bytes: cannot write in ${download}: no space left on the device \\(ENOSPC\\)$`));
});
