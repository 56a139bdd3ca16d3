import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile } from './cli-helpers.js';

test('trainer train --threads 2 --backend cpu prints no TensorFlow.js banner (each thread advertised tfjs-node on stderr)', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'quiet', 1);
  const args = ['train', '--config', config, '--threads', '2', '--backend', 'cpu', '--model.name', 'fc', '--data.synthetic.trainSize', '64'];
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TRAINER_WARMUP_STEPS: '0' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /workers: 2 threads, backend cpu/);
  assert.doesNotMatch(r.stderr + r.stdout, /looks like you are running TensorFlow\.js|=====/);
});
