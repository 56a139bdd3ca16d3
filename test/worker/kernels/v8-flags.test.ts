import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AFTER_WARM_UP_FACTOR } from '../../../src/worker/kernels/v8-wasm-flags.js';

const FLAGS_MODULE = fileURLToPath(new URL('../../../src/worker/kernels/v8-wasm-flags.js', import.meta.url));

/**
 * In a child process (V8's flags are process-wide): how many calls a fresh function takes until V8
 * has optimised it, under the warm-up's budget (after setWasmFlags), after warmUpOver for threads
 * that ran the warm-up, and for threads that did not. Compiled
 * synchronously, so the count is the budget's, not a helper thread's timing; status bit 64 is
 * TurboFan's code (the tier the budget governs; a V8 with Maglev reaches that tier first by its own count).
 */
function callsToOptimise(env: NodeJS.ProcessEnv): { warmUp: number; after: number; notWarmed: number } {
  const script = `
    const { setWasmFlags, warmUpOver } = await import(${JSON.stringify(FLAGS_MODULE)});
    const a = [1, 2, 3, 4, 5, 6, 7, 8];
    let made = 0;
    const calls = () => {
      // A source of its own each time: V8 caches the compilation of a source it has seen.
      const f = new Function('a', 'let s = ' + made++ + '; for (let i = 0; i < 8; i++) s += a[i] * i; return s;');
      for (let n = 1; n <= 1e7; n++) { f(a); if (%GetOptimizationStatus(f) & 64) return n; }
      return -1;
    };
    setWasmFlags();
    const warmUp = calls();
    warmUpOver(true);
    const after = calls();
    warmUpOver(false);
    console.log(JSON.stringify({ warmUp, after, notWarmed: calls() }));
  `;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env,
  });
  return JSON.parse(out.trim()) as { warmUp: number; after: number; notWarmed: number };
}

describe('V8 optimisation budget', () => {
  it('is small during the warm-up and AFTER_WARM_UP_FACTOR times the default after it once the threads ran the warm-up (the default otherwise): the step loop is not compiled over a core that computes', () => {
    const eager = callsToOptimise({ ...process.env, TRAINER_JS_EAGER: '1' });
    const defaults = callsToOptimise({ ...process.env, TRAINER_JS_EAGER: '0' });
    assert.ok(eager.warmUp > 0 && eager.after > 0 && defaults.warmUp > 0 && defaults.after > 0, JSON.stringify({ eager, defaults }));
    // V8's default throughout with TRAINER_JS_EAGER=0.
    assert.ok(Math.abs(defaults.after / defaults.warmUp - 1) < 0.2, JSON.stringify(defaults));
    // 16 KB against 66 KB, then 10 x 66 KB: each ratio well within a factor of 2 of its budget's.
    assert.ok(eager.warmUp < defaults.warmUp / 2, JSON.stringify({ eager, defaults }));
    assert.ok(eager.after > (AFTER_WARM_UP_FACTOR / 2) * defaults.after, JSON.stringify({ eager, defaults }));
    // Threads that ran no warm-up (webgpu, cpu, TRAINER_WARMUP_STEPS=0): V8's default, not ten times it.
    assert.ok(Math.abs(eager.notWarmed / defaults.after - 1) < 0.2, JSON.stringify({ eager, defaults }));
  });
});
