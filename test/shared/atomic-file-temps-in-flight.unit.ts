import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { removeTempsInFlight, writeFileAtomic } from '../../src/shared/atomic-file.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

test('the temporary file of a write in progress can be removed at once (a report stopped by a signal mid-write left it beside --out), and the target stays as it was', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const target = join(dir, 'page.html');
  await writeFile(target, 'the old page');
  // Many chunks: the write awaits each, so it is still in progress below.
  const writing = writeFileAtomic(target, Array.from({ length: 400 }, () => new Uint8Array(64 * 1024).fill(60)));
  let temps: string[] = [];
  for (let i = 0; i < 200 && temps.length === 0; i++) {
    await new Promise((r) => setImmediate(r));
    temps = (await readdir(dir)).filter((f) => f.endsWith('.tmp'));
  }
  assert.equal(temps.length, 1, 'the write is under way');
  removeTempsInFlight();
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
  await assert.rejects(writing, (err) => isTrainerError(err, 'E_IO'));
  assert.equal(await readFile(target, 'utf8'), 'the old page');
  assert.deepEqual(await readdir(dir), ['page.html']);
  removeTempsInFlight(); // nothing in flight: nothing to do
});
