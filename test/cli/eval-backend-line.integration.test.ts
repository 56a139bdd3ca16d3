import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('eval names the backend it evaluates on, as train does at start, on stderr; --json has it in its object only', async () => {
  const dir = await tempDir();
  const trained = trainer(['train', '-c', await smallConfigFile(dir, 'b', 1)]);
  assert.equal(trained.code, 0, trained.stderr);
  // The run's backend, in train's own start-up line.
  assert.match(trained.stderr, /^backend: wasm$/m);
  const run = join(dir, 'runs', 'b');
  // Was nothing on stderr: which backend scored the model was said nowhere in text.
  const text = trainer(['eval', run]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stderr, 'backend: wasm\n');
  assert.match(text.stdout, /^Accuracy train: [\d.]+\nAccuracy val: [\d.]+\n$/);
  // Another backend than the run's, asked for: that one is named.
  const cpu = trainer(['eval', run, '--backend', 'cpu']);
  assert.equal(cpu.code, 0, cpu.stderr);
  assert.equal(cpu.stderr, 'backend: cpu\n');
  assert.match(cpu.stdout, /^Accuracy train: [\d.]+\nAccuracy val: [\d.]+\n$/);
  const json = trainer(['eval', run, '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stderr, '');
  assert.equal(JSON.parse(json.stdout).backend, 'wasm');
});
