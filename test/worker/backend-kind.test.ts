// The wasm backend's kind says how its matrix products round, so that workers whose bits differ
// are reported as a mixed-backends run. Each case is a fresh process: the flags and environment
// are read once, when the kernels load.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'node:test';

const BACKEND = new URL('../../src/worker/backend.js', import.meta.url).href;

function kindWith(env: Record<string, string>): string {
  const script = `const { selectBackend } = await import(${JSON.stringify(BACKEND)}); process.stdout.write((await selectBackend('wasm', null)).kind);`;
  const clean = { ...process.env };
  delete clean.TRAINER_WASM_FMA;
  delete clean.TRAINER_WASM_SIMD;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...clean, ...env }, encoding: 'utf8' });
}

const cpuHasFma = /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));

test('wasm on a CPU with FMA is kind "wasm": the products fuse their multiply-adds', { skip: cpuHasFma ? false : 'this CPU has no FMA' }, () => {
  assert.equal(kindWith({}), 'wasm');
});

test('TRAINER_WASM_FMA=0 rounds each multiply: kind "wasm no-fma"', () => {
  assert.equal(kindWith({ TRAINER_WASM_FMA: '0' }), 'wasm no-fma');
});

test('TRAINER_WASM_SIMD=0 computes with the stock kernels: kind "wasm stock-kernels"', () => {
  assert.equal(kindWith({ TRAINER_WASM_SIMD: '0' }), 'wasm stock-kernels');
});
