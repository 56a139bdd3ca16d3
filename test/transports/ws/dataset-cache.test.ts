import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { readCachedBlob, writeCachedBlob } from '../../../src/transports/ws/dataset-cache.js';
import { sha256Hex } from '../../../src/transports/ws/wire-dataset.js';
import { tempDir } from '../../helpers.js';

test("a cache write sweeps the temporaries of killed workers' writes untouched for 10 minutes, and no other", async () => {
  const dir = await tempDir();
  const datasets = join(dir, 'datasets');
  await mkdir(datasets);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its id runs nothing now
  const names = {
    killedLongAgo: `.${'a'.repeat(64)}.bin.${dead}.0a1b2c3d.tmp`,
    killedJustNow: `.${'b'.repeat(64)}.bin.${dead}.0a1b2c3e.tmp`,
    aLiveWriter: `.${'c'.repeat(64)}.bin.${process.ppid}.0a1b2c3f.tmp`,
  };
  for (const n of Object.values(names)) await writeFile(join(datasets, n), Buffer.alloc(1000));
  const old = new Date(Date.now() - 3600_000);
  await utimes(join(datasets, names.killedLongAgo), old, old);
  await utimes(join(datasets, names.aLiveWriter), old, old);
  const blob = Buffer.from('a dataset');
  await writeCachedBlob(dir, sha256Hex(blob), blob);
  assert.deepEqual((await readdir(datasets)).sort(), [names.killedJustNow, names.aLiveWriter, `${sha256Hex(blob)}.bin`].sort());
  assert.deepEqual(await readCachedBlob(dir, sha256Hex(blob)), { blob });
});
