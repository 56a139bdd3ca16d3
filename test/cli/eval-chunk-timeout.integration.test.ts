import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

test('cluster.stepTimeoutMs is a micro-batch\'s: an evaluation chunk of eval.batchSize images gets it per micro-batch of its images, on threads and worker processes (threads failed every run, processes evicted their workers as stalled for ever)', async () => {
  const dir = await tempDir();
  const config = join(dir, 'c.yaml');
  // Micro-batches of 16 take about 3 ms, an evaluation chunk of 4,096 images about 1.3 s: longer than
  // one micro-batch's 600 ms. (With 300 ms, a micro-batch stalled past it once under a heavily loaded
  // CI; the fc model, 20 ms against 3 s, cost the suite 11 s more.)
  await writeFile(
    config,
    [
      `run: {name: t, dir: ${JSON.stringify(join(dir, 'runs'))}, seed: 3}`,
      `data: {source: synthetic, path: ${JSON.stringify(join(dir, 'data'))}, synthetic: {trainSize: 320, valSize: 4096, seed: 1}}`,
      'train: {epochs: 1, batchSize: 64, microBatches: 4, lr: 0.05}',
      'eval: {batchSize: 4096}',
      'cluster: {stepTimeoutMs: 600, noWorkerTimeoutMs: 20000}',
      'backend: wasm',
      '',
    ].join('\n'),
  );
  const hashes: string[] = [];
  for (const how of [['--threads', '2'], ['--procs', '2']]) {
    const r = trainer(['train', '-c', config, '--run.name', how[0]?.slice(2) ?? '', ...how]);
    assert.equal(r.code, 0, `${how.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /stalled|took longer than|no result within/, how.join(' '));
    hashes.push(/weights sha256 ([0-9a-f]{64})/.exec(r.stdout)?.[1] ?? '');
  }
  assert.equal(hashes[0], hashes[1]);
  assert.match(hashes[0] ?? '', /^[0-9a-f]{64}$/);
});
