import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { startFolder } from '../../src/coordinator/run-config.js';
import { tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

/** DIR/a/c.yaml: a one-epoch synthetic run `r` whose paths are relative (runs, data), as users write them. */
async function relativeRun(dir: string): Promise<string> {
  const a = join(dir, 'a');
  await mkdir(a);
  await mkdir(join(dir, 'b'));
  await writeFile(
    join(a, 'c.yaml'),
    [
      'run: {name: r, dir: runs, seed: 3}',
      'data: {source: synthetic, path: data, synthetic: {trainSize: 320, valSize: 64, seed: 1}}',
      'train: {epochs: 1, batchSize: 64, microBatches: 4, lr: 0.05}',
      'backend: wasm',
      '',
    ].join('\n'),
  );
  const r = trainer(['train', '-c', 'c.yaml', '--quiet'], a);
  assert.equal(r.code, 0, r.stderr);
  return a;
}

test('a run keeps its data path absolute: eval and resume from another folder read the run\'s data and write none where they run (runs kept with a relative one: found from where the run folder is)', async () => {
  const dir = await tempDir();
  const a = await relativeRun(dir);
  const b = join(dir, 'b');
  const stored = JSON.parse(await readFile(join(a, 'runs', 'r', 'config.json'), 'utf8'));
  assert.equal(stored.data.path, join(a, 'data'));
  assert.equal(stored.run.dir, 'runs', 'where run folders go stays as given: a run is found by its folder');

  // Wrote (or, with download: true, downloaded) the data into b/data and evaluated that.
  const here = JSON.parse(trainer(['eval', join(a, 'runs', 'r'), '--json'], a).stdout);
  const ev = trainer(['eval', '../a/runs/r', '--json'], b);
  assert.equal(ev.code, 0, ev.stderr);
  assert.deepEqual({ ...JSON.parse(ev.stdout), run: null }, { ...here, run: null });
  assert.equal(existsSync(join(b, 'data')), false, 'eval wrote data where it ran');

  // Runs kept before, with a relative data.path: found from where the run folder is.
  const file = join(a, 'runs', 'r', 'config.json');
  await writeFile(file, JSON.stringify({ ...stored, data: { ...stored.data, path: 'data' } }));
  const old = trainer(['eval', '../a/runs/r', '--json'], b);
  assert.equal(old.code, 0, old.stderr);
  assert.deepEqual({ ...JSON.parse(old.stdout), run: null }, { ...here, run: null });
  assert.equal(existsSync(join(b, 'data')), false, 'eval of a run kept with a relative data.path wrote data where it ran');

  const resumed = trainer(['train', '--resume', '--run.dir', '../a/runs', '--run.name', 'r', '--train.epochs', '2', '--quiet'], b);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(existsSync(join(b, 'data')), false, 'the resume wrote data where it ran');

  // The run's file names the same data, relative to a: no note that it differs from the run's.
  const again = trainer(['train', '-c', 'c.yaml', '--resume', '--train.epochs', '3'], a);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /data\.path/);
});

test('startFolder: the folder a run started in, from its folder and its stored run.dir and run.name', () => {
  assert.equal(startFolder('/x/a/runs/r', { dir: 'runs', name: 'r' }), '/x/a');
  assert.equal(startFolder('/x/a/runs/r/', { dir: './runs/', name: 'r' }), '/x/a');
  assert.equal(startFolder('/x/a/out/runs/r', { dir: 'out/runs', name: 'r' }), '/x/a');
  assert.equal(startFolder('/runs/r', { dir: 'runs', name: 'r' }), '/');
  // Nothing to tell from: an absolute run.dir, one above the start, a folder renamed or moved alone.
  assert.equal(startFolder('/x/a/runs/r', { dir: '/x/a/runs', name: 'r' }), null);
  assert.equal(startFolder('/x/runs/r', { dir: '../runs', name: 'r' }), null);
  assert.equal(startFolder('/x/a/runs/r2', { dir: 'runs', name: 'r' }), null);
  assert.equal(startFolder('/x/a/old/r', { dir: 'runs', name: 'r' }), null);
  assert.equal(startFolder('/x/a/runs/r', { name: 'r' }), null);
});
