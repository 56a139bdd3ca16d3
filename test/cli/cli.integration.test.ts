import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { tempDir } from '../helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function trainer(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...(cwd ? { cwd } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a bad config value is one line naming the key and value, exit code 2', () => {
  const r = trainer(['train', '--train.batchSize', '-3']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'error E_CONFIG: train.batchSize must be a positive integer, got -3\n');
});

test('--threads N or --procs N past what the config allows is named in the error, not only the cluster.workers it sets', () => {
  const tail = 'cluster.workers (9) must not exceed train.microBatches (4): each worker needs at least one micro-batch per step; raise train.microBatches\n';
  for (const flag of ['--threads', '--procs']) {
    const r = trainer(['train', flag, '9']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `error E_CONFIG: ${flag} 9: ${tail}`);
  }
  // Set as the key itself, it is said as before.
  const k = trainer(['train', '--cluster.transport', 'threads', '--cluster.workers', '9']);
  assert.equal(k.stderr, `error E_CONFIG: ${tail}`);
});

test('an unknown config key and a missing config file are E_CONFIG', () => {
  const a = trainer(['train', '--train.epoch', '3']);
  assert.equal(a.code, 2);
  assert.equal(a.stderr, 'error E_CONFIG: unknown config key train.epoch; did you mean train.epochs?\n');
  const b = trainer(['train', '--config', '/nonexistent/c.yaml']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /^error E_CONFIG: cannot read config file \/nonexistent\/c\.yaml/);
});

test('unknown options are usage errors with the nearest option; --help works on eval (the rest: cli-conventions)', () => {
  const b = trainer(['train', '--thread', '2']);
  assert.equal(b.code, 2);
  assert.equal(b.stderr, 'error E_USAGE: unknown option --thread; did you mean --threads? (see trainer train --help)\n');
  // Each named once (yargs also lists the camel-case spelling: "--max-retries; unknown option --maxRetries").
  const w = trainer(['worker', '--connect', '127.0.0.1:9', '--max-retries', '3', '--bogusThing', '1']);
  assert.equal(w.stderr, 'error E_USAGE: unknown option --max-retries; unknown option --bogusThing (see trainer worker --help)\n');
  // A config key typed without its section is named with it, when one key the command takes ends so.
  const e = trainer(['train', '--epochs', '3']);
  assert.equal(e.stderr, 'error E_USAGE: unknown option --epochs; did you mean --train.epochs? (see trainer train --help)\n');
  assert.equal(trainer(['train', '--seed', '3']).stderr, 'error E_USAGE: unknown option --seed (see trainer train --help)\n', 'run.seed or data.synthetic.seed: no guess');
  // A config key under a misspelt section: yargs named the section alone ("unknown option --trian").
  assert.equal(trainer(['train', '--trian.lr', '0.1']).stderr, 'error E_USAGE: unknown option --trian.lr; did you mean --train.lr? (see trainer train --help)\n');
  assert.equal(trainer(['train', '--dat.path=x']).stderr, 'error E_USAGE: unknown option --dat.path; did you mean --data.path? (see trainer train --help)\n');
  assert.equal(trainer(['eval', '--epochs', '3']).stderr, 'error E_USAGE: unknown option --epochs (see trainer eval --help)\n', 'eval takes no train.epochs');
  // yargs' "Missing required argument: connect" and "Not enough non-option arguments" named no flag.
  const c = trainer(['worker', '--gpu', '0']);
  assert.equal(c.code, 2);
  assert.equal(c.stderr, 'error E_USAGE: missing --connect: coordinator HOST:PORT (or ws://..., wss://...) (see trainer worker --help)\n');
  assert.equal(trainer(['predict', '--run', 'r']).stderr, 'error E_USAGE: missing images: trainer predict <images..> (see trainer predict --help)\n');
  const h = trainer(['eval', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /run folder/);
});

test('missing CIFAR data offline is E_DATA naming the folder and the synthetic source', async () => {
  const dir = await tempDir();
  const r = trainer(['train', '--data.path', join(dir, 'nothing'), '--run.dir', join(dir, 'runs')]);
  assert.equal(r.code, 2, 'the same command fails the same way');
  assert.match(r.stderr, /^error E_DATA: no CIFAR-10 data in .*nothing.*--data\.source synthetic/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('train then eval from the command line, with --threads 2', async () => {
  const dir = await tempDir();
  const config = join(dir, 'c.yaml');
  await writeFile(
    config,
    [
      'run: {name: cli, dir: runs}',
      'data: {source: synthetic, path: data, synthetic: {trainSize: 256, valSize: 64, seed: 1}}',
      'train: {epochs: 1, batchSize: 64, microBatches: 2}',
      'backend: wasm',
    ].join('\n'),
  );
  const t = trainer(['train', '--config', config, '--threads', '2', '--json'], dir);
  assert.equal(t.code, 0, t.stderr);
  const epoch = JSON.parse(t.stdout.trim());
  assert.equal(epoch.epoch, 1);
  assert.equal(epoch.step, 4);
  const e = trainer(['eval', '--run', join(dir, 'runs', 'cli'), '--json'], dir);
  assert.equal(e.code, 0, e.stderr);
  const acc = JSON.parse(e.stdout);
  assert.equal(acc.trainAcc, epoch.trainAcc);
  assert.equal(acc.valAcc, epoch.valAcc);
});
