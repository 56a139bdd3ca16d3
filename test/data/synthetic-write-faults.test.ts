import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, tempDir } from './fixtures.js';

test('a synthetic set that cannot be made says why in words and names its folder: data.path a file, a path through a file, a file-size limit (E_IO)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'a-file');
  await writeFile(file, 'not a folder');

  // Were Node's "ENOTDIR: not a directory, stat '<file>/synthetic-1-50-20'".
  await assert.rejects(loadDatasets(options(file, { source: 'synthetic' })), {
    code: 'E_DATA',
    message: `${file} is not a folder (data.path: where the synthetic data set is generated)`,
  });
  await assert.rejects(loadDatasets(options(join(file, 'sub'), { source: 'synthetic' })), {
    code: 'E_DATA',
    message: `cannot create synthetic data folder ${join(file, 'sub', 'synthetic-1-50-20')}: a part of the path is a file, not a folder (ENOTDIR)`,
  });

  // 8 KiB files at most: the first batch file (10 records, 30 kB) does not fit. It was "cannot write
  // <dir>/.cifar-10-batches-bin.tmp-<pid>-<hex>/data_batch_1.bin: EFBIG: file too large, write",
  // a temporary folder already gone.
  const data = join(dir, 'limited');
  const dataset = new URL('../../src/data/dataset.js', import.meta.url).href;
  const script =
    `const { loadDatasets } = await import(${JSON.stringify(dataset)});` +
    `try { await loadDatasets(${JSON.stringify(options(data, { source: 'synthetic' }))}); console.log('null'); }` +
    `catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const r = spawnSync('bash', ['-c', `ulimit -f 8 && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const set = join(data, 'synthetic-1-50-20');
  // E_IO, as a checkpoint's file-size limit: it was E_DATA, exit 2 (the same command meets it again).
  assert.deepEqual(JSON.parse(r.stdout), {
    code: 'E_IO',
    message: `cannot write the synthetic data set into ${set}: file too large (a file-size limit, ulimit -f, or the file system) (EFBIG) (the set takes about 1 MB)`,
  });
  assert.deepEqual(await readdir(set), [], 'no temporary folder left');
});
