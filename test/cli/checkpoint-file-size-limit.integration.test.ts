import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { TraceEvent } from '../../src/cli/trace.js';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile, trainer } from './cli-helpers.js';

test('a checkpoint that hits a file-size limit is E_IO naming it, exit 1, and the previous checkpoint still resumes', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'limited', 1);
  // Plain SGD: the checkpoint is one 73 kB array, the write the old code let through short.
  const first = trainer(['train', '--config', config, '--train.momentum', '0']);
  assert.equal(first.code, 0, first.stderr);
  const ckpt = join(dir, 'runs', 'limited', 'checkpoint', 'state.ckpt');
  assert.equal((await loadCheckpoint(ckpt)).epoch, 1);

  // 48 KiB files at most: config, metrics and workers.json fit, the epoch-2 checkpoint does not.
  // With a --trace (a few KB: it fits), which the error ends as whole JSON.
  const traceFile = join(dir, 'trace.json');
  const args = ['train', '--config', config, '--train.momentum', '0', '--train.epochs', '2', '--resume', '--trace', traceFile].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `ulimit -f 48 && exec '${process.execPath}' '${CLI}' ${args}`], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error E_IO: cannot write ${ckpt.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: file too large`));
  assert.doesNotMatch(r.stderr, /model saved/);
  assert.equal((await loadCheckpoint(ckpt)).epoch, 1, 'the epoch-1 checkpoint is intact');
  assert.deepEqual(await readdir(join(dir, 'runs', 'limited', 'checkpoint')), ['state.ckpt']);
  const trace = JSON.parse(await readFile(traceFile, 'utf8')) as TraceEvent[];
  assert.deepEqual(trace.filter((e) => e.name === 'step').map((e) => e.args?.step), [5, 6, 7, 8, 9], 'the steps of epoch 2');

  const resumed = trainer(['train', '--config', config, '--train.momentum', '0', '--train.epochs', '2', '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((await loadCheckpoint(ckpt)).epoch, 2);
});
