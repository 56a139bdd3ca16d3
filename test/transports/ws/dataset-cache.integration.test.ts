import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { killAll, spawnWorker, startBarePool, waitFor } from './helpers.js';

test('the dataset crosses the wire once: a worker that rejoins proves it holds it by sha256, from its cache', async () => {
  const dir = await tempDir();
  const { pool, lines, url } = await startBarePool(dir);
  const sent = () => lines.filter((l) => l.includes('dataset sent')).length;
  try {
    const first = spawnWorker(url, dir, 'same');
    await waitFor('the first worker', () => pool.size === 1);
    assert.equal(sent(), 1);
    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor('the pool to notice', () => pool.size === 0);
    const files = await readdir(join(dir, 'cache', 'same', 'datasets'));
    assert.equal(files.length, 1);
    assert.match(files[0] as string, /^[0-9a-f]{64}\.bin$/);

    const again = spawnWorker(url, dir, 'same');
    await waitFor('the second worker', () => pool.size === 1);
    assert.equal(sent(), 1, 'not sent again');
    assert.match(again.output(), /from the cache/);
    killAll([again]);
  } finally {
    await pool.close();
  }
});
