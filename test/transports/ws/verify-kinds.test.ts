import assert from 'node:assert/strict';
import test from 'node:test';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { VerifyKinds } from '../../../src/transports/ws/verify-kinds.js';

test('cluster.verify: the longest-present kind holds others off only while two workers of it can check each other', () => {
  const k = new VerifyKinds();
  assert.equal(k.refusal('wasm', []), null, 'the first worker sets the kind for now');
  assert.equal(k.refusal('webgpu', ['wasm']), null, 'a lone wasm worker cannot verify on its own: webgpu may come');
  assert.equal(k.refusal('wasm', ['wasm', 'webgpu']), null);
  assert.deepEqual(k.refusal('webgpu', ['wasm', 'webgpu', 'wasm']), {
    code: CLOSE.refused,
    why: 'cluster.verify: this run computes on wasm so far (settled when two workers agree); retrying',
  });
  // The wasm workers left: the kind for now passes to the longest-present of those here, not to whoever asks.
  assert.equal(k.refusal('wasm', ['webgpu']), null, 'webgpu is the kind now, and one webgpu worker cannot hold wasm off');
  assert.equal(k.refusal('wasm', ['webgpu', 'wasm', 'webgpu'])?.code, CLOSE.refused, 'two webgpu workers can: wasm waits');
  assert.equal(k.settled, null);
});

test('cluster.verify: kinds settled by agreeing results are the run\'s for good; others are refused for the run', () => {
  const k = new VerifyKinds();
  assert.equal(k.settle(new Set(['wasm'])), true);
  assert.equal(k.settle(new Set(['webgpu'])), false, 'settled once');
  assert.deepEqual([...(k.settled ?? [])], ['wasm']);
  assert.equal(k.refusal('wasm', []), null);
  assert.deepEqual(k.refusal('webgpu', ['webgpu', 'webgpu']), {
    code: CLOSE.banned,
    why: 'cluster.verify compares results bit for bit: this run computes on wasm, this worker on webgpu',
  });
});
