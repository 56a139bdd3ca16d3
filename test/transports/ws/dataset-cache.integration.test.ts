import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { sha256Hex } from '../../../src/transports/ws/wire-dataset.js';
import { tempDir } from '../../helpers.js';
import { killAll, spawnWorker, startBarePool, waitFor } from './helpers.js';

/** A worker named "same" joins (and caches the dataset), then is SIGKILLed and gone from `pool`. */
async function joinOnceAndDie(pool: { size: number }, url: string, dir: string): Promise<void> {
  const first = spawnWorker(url, dir, 'same');
  await waitFor('the first worker', () => pool.size === 1);
  first.child.kill('SIGKILL');
  await first.exited;
  await waitFor('the pool to notice', () => pool.size === 0);
}

test('the dataset crosses the wire once: a worker that rejoins proves it holds it by sha256, from its cache', async () => {
  const dir = await tempDir();
  const { pool, lines, url } = await startBarePool(dir);
  const sent = () => lines.filter((l) => l.includes('dataset sent')).length;
  try {
    await joinOnceAndDie(pool, url, dir);
    assert.equal(sent(), 1);
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

test('a cached dataset whose bytes no longer match its sha256 is fetched again, the worker says so in one line, and the good copy replaces the file', async () => {
  const dir = await tempDir();
  const { pool, lines, url } = await startBarePool(dir);
  const sent = () => lines.filter((l) => l.includes('dataset sent')).length;
  try {
    await joinOnceAndDie(pool, url, dir);
    const datasets = join(dir, 'cache', 'same', 'datasets');
    const [name] = await readdir(datasets);
    const file = join(datasets, name as string);
    const bytes = await readFile(file);
    for (let i = 100; i < 110; i++) bytes[i] = (bytes[i] as number) ^ 0xff;
    await writeFile(file, bytes);

    const again = spawnWorker(url, dir, 'same');
    await waitFor('the second worker', () => pool.size === 1);
    assert.equal(sent(), 2, 'sent again');
    const said = again.output().split('\n').filter((l) => /cached copy/.test(l));
    assert.equal(said.length, 1, again.output());
    assert.match(said[0] as string, /dataset [0-9a-f]{12}: the cached copy \S+\.bin does not match its sha256; fetching it again \(it replaces the file\)$/);
    assert.doesNotMatch(again.output(), /from the cache/);
    assert.equal(`${sha256Hex(await readFile(file))}.bin`, name);
    killAll([again]);
  } finally {
    await pool.close();
  }
});
