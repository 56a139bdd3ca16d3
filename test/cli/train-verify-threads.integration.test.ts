import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile, trainer } from './cli-helpers.js';

test('cluster.verify with --threads N (or in-process) is E_CONFIG: it was taken and checked nothing, as only WebSocket workers are recomputed', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir);
  const refusal = (verify: string, transport: string, what: string) =>
    `error E_CONFIG: cluster.verify ${verify} checks WebSocket workers by recomputing their results, and cluster.transport ${transport} ${what}: ` +
    'there is nothing untrusted to check; leave it out (--cluster.verify 0), or use worker processes (--procs N, or trainer coordinator)\n';
  expectFailures([
    [['train', '-c', config, '--threads', '2', '--cluster.verify', '1'], refusal('1', 'threads', "runs this process's own threads")],
    // In-process it was "needs cluster.workers of at least 2", and --cluster.workers 2 then checked nothing either.
    [['train', '-c', config, '--cluster.verify', '0.5'], refusal('0.5', 'local', 'computes in this process')],
    [['train', '-c', config, '--cluster.workers', '2', '--cluster.verify', '0.5'], refusal('0.5', 'local', 'computes in this process')],
  ]);
  assert.equal(existsSync(join(dir, 'runs')), false, 'no run was started');
  // Worker processes (--procs) and WebSocket workers are checked: taken as before.
  for (const transport of ['procs', 'ws'] as const) {
    assert.equal((await resolveConfig(config, { cluster: { transport, workers: 2, verify: 1 } })).cluster.verify, 1);
  }
});

test('a run kept with cluster.verify on threads (taken before it was refused) is still evaluated: eval uses none of the run\'s workers', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'kept', 1);
  assert.equal(trainer(['train', '-c', config, '--threads', '2', '--quiet']).code, 0);
  const file = join(dir, 'runs', 'kept', 'config.json');
  const stored = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...stored, cluster: { ...stored.cluster, verify: 1 } }));
  const ev = trainer(['eval', join(dir, 'runs', 'kept'), '--json']);
  assert.equal(ev.code, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).valAcc >= 0);
});
