import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { HEAP_GROWING_PERCENT, tuneHeapGrowthForStreaming } from '../../../src/transports/ws/heap-growth.js';

const MODULE = new URL('../../../src/transports/ws/heap-growth.js', import.meta.url).href;

/** The factors V8 used for its old-generation limits, in a fresh node that runs `script` (with gc() exposed). */
function limitFactors(script: string, env: NodeJS.ProcessEnv = {}): { factors: number[]; stdout: string } {
  const r = spawnSync(process.execPath, ['--trace-gc-verbose', '--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  const factors = [...r.stdout.matchAll(/\[HeapController\] Limit: .*\(([\d.]+)\)/g)].map((m) => Number(m[1]));
  return { factors, stdout: r.stdout };
}

test('the coordinator sets V8 to grow its heap to 3x the live size, from the next collection on', () => {
  const { factors, stdout } = limitFactors(
    `const { tuneHeapGrowthForStreaming } = await import(${JSON.stringify(MODULE)});
     globalThis.keep = Array.from({ length: 200000 }, (_, i) => ({ i }));
     gc();
     console.log('applied', tuneHeapGrowthForStreaming());
     gc();`,
  );
  assert.match(stdout, /applied true/);
  assert.ok(factors.length >= 2, stdout);
  assert.equal(factors.at(-1), 1 + HEAP_GROWING_PERCENT / 100, `V8 used factor ${factors.at(-1)}`);
});

test('TRAINER_GC_TUNING=0 or a --heap-growing-percent given to node leaves V8 alone', () => {
  assert.equal(tuneHeapGrowthForStreaming({ TRAINER_GC_TUNING: '0' }, []), false);
  assert.equal(tuneHeapGrowthForStreaming({}, ['--heap-growing-percent=50']), false);
  assert.equal(tuneHeapGrowthForStreaming({}, ['--heap_growing_percent', '50']), false);
  const { factors, stdout } = limitFactors(
    `const { tuneHeapGrowthForStreaming } = await import(${JSON.stringify(MODULE)});
     console.log('applied', tuneHeapGrowthForStreaming());
     gc();`,
    { TRAINER_GC_TUNING: '0' },
  );
  assert.match(stdout, /applied false/);
  assert.ok(factors.length >= 1, stdout);
});
