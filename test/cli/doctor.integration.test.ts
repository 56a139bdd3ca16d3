// `trainer doctor`: a row per backend that says whether it is usable and why not, exit 0 even
// where backends are missing (as here: no tfjs-node, no GPU).
import assert from 'node:assert/strict';
import test from 'node:test';
import { trainer } from './cli-helpers.js';

test('doctor lists every backend with whether it is usable and why not, and exits 0', () => {
  const r = trainer(['doctor']);
  assert.equal(r.code, 0, r.stderr);
  const row = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
  assert.match(row('wasm'), /^wasm\s+yes/);
  assert.match(row('cpu'), /^cpu\s+yes/);
  assert.match(row('tensorflow-gpu --gpu 0'), /\s(yes|no)\s/);
  if (/\sno\s/.test(row('tensorflow-gpu --gpu 0'))) {
    assert.match(row('tensorflow-gpu --gpu 0'), /E_BACKEND: tensorflow-gpu: /);
    assert.match(r.stdout, /What the missing ones need:\n(- .*\n)*- tfjs-node-gpu 4\.22 needs .*CUDA 11\.2 and cuDNN 8\.1/);
  }
  assert.match(row('webgpu --gpu 0'), /\s(yes|no)\s/);
  assert.match(r.stdout, /^WebGPU adapters Dawn sees: /m);
});
