import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { expectFailures } from './cli-helpers.js';

test('a worker whose dataset cache is a file is E_USAGE at start: it connected, was sent the data, and said a bare "ENOTDIR" at every start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-cache-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'cache');
  await writeFile(file, 'not a folder\n');
  // Port 9 (discard): nothing listens; before, each of these retried for 0.4 s and ended E_TIMEOUT.
  const worker = ['worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '400'];
  expectFailures([
    [[...worker, '--cache-dir', file], `error E_USAGE: --cache-dir ${file} is a file, not a folder: give a folder for the dataset cache (a missing one is made)\n`],
    [
      [...worker, '--cache-dir', join(file, 'sub')],
      `error E_USAGE: --cache-dir ${join(file, 'sub')} cannot be a folder: ${file} is a file; give a folder for the dataset cache (a missing one is made)\n`,
    ],
  ]);
  // The same from the environment, named as given there (the worker inherits this process's).
  process.env.TRAINER_CACHE_DIR = file;
  t.after(() => delete process.env.TRAINER_CACHE_DIR);
  expectFailures([[worker, `error E_USAGE: TRAINER_CACHE_DIR ${file} is a file, not a folder: give a folder for the dataset cache with --cache-dir (a missing one is made)\n`]]);
});
