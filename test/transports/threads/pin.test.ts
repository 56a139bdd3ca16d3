import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { allowedCpus, parseCpuList, pinCores, workerPinCores } from '../../../src/transports/threads/pin.js';
import { threadPoolFactory, type ThreadPool } from '../../../src/transports/threads/pool.js';
import { smallConfig, tempDir } from '../../helpers.js';

test('CPU lists as Linux writes them', () => {
  assert.deepEqual(parseCpuList('0-1\n'), [0, 1]);
  assert.deepEqual(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseCpuList('3'), [3]);
  assert.throws(() => parseCpuList('a-b'), /not a CPU list/);
});

test('threads go to different physical cores before they share one: hyperthread siblings come last', () => {
  // cpus 0-3 are the first hyperthreads of cores 0-3, 4-7 their siblings (a common numbering) ...
  const interleaved = (c: number) => [c % 4, (c % 4) + 4];
  assert.deepEqual(pinCores(4, [0, 1, 2, 3, 4, 5, 6, 7], interleaved), [0, 1, 2, 3]);
  // ... or siblings are neighbours (0-1 one core, 2-3 the next).
  const paired = (c: number) => [c - (c % 2), c - (c % 2) + 1];
  assert.deepEqual(pinCores(2, [0, 1, 2, 3], paired), [0, 2]);
  assert.deepEqual(pinCores(3, [0, 1, 2, 3], paired), [0, 2, 1]);
  // Only the allowed CPUs count: with 2 and 3 allowed (one core's siblings and another's), both.
  assert.deepEqual(pinCores(2, [1, 2], paired), [1, 2]);
});

test('threads are pinned only when there are 2 or more and a core for each, unless TRAINER_PIN_THREADS=0', () => {
  const alone = (c: number) => [c];
  assert.equal(pinCores(1, [0, 1], alone), null);
  assert.deepEqual(pinCores(2, [0, 1], alone), [0, 1]);
  assert.deepEqual(pinCores(2, [4, 6, 7], alone), [4, 6]);
  assert.equal(pinCores(3, [0, 1], alone), null);
  assert.equal(pinCores(2, null, alone), null);
  process.env['TRAINER_PIN_THREADS'] = '0';
  try {
    assert.equal(pinCores(2, [0, 1], alone), null);
  } finally {
    delete process.env['TRAINER_PIN_THREADS'];
  }
});

test('trainer worker --threads N pins only when the process may use exactly N CPUs (a set a scheduler gave it)', () => {
  const alone = (c: number) => [c];
  assert.deepEqual(workerPinCores(2, [2, 3], alone), [2, 3]);
  assert.equal(workerPinCores(2, [0, 1, 2, 3], alone), null);
  assert.equal(workerPinCores(4, [0, 1], alone), null);
  assert.equal(workerPinCores(2, null, alone), null);
});

/** Cpus_allowed_list of each thread of this process. */
function threadAffinities(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const line = readFileSync(`/proc/self/task/${tid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    return (line ?? '').slice('Cpus_allowed_list:'.length).trim();
  });
}

test('trainer train --threads 2 runs each compute thread on a core of its own, and says so', async (t) => {
  const cpus = allowedCpus();
  if (cpus === null || cpus.length < 2) return t.skip(`needs 2 cores this process may use (has ${cpus?.length ?? 'unknown'})`);
  const dir = await tempDir();
  const factory = threadPoolFactory();
  const lines: string[] = [];
  let seen: { cores: number[]; affinities: string[] } | null = null;
  await runTraining({
    config: smallConfig(dir, { train: { epochs: 1 }, cluster: { transport: 'threads', workers: 2 } }),
    resume: false,
    log: (line) => lines.push(line),
    createPool: async (ctx) => {
      const pool: ThreadPool = await factory(ctx);
      seen = { cores: pool.cores(), affinities: threadAffinities() };
      return pool;
    },
  });
  const { cores, affinities } = seen as unknown as { cores: number[]; affinities: string[] };
  const expected = [...(pinCores(2) as number[])].sort((a, b) => a - b);
  assert.deepEqual([...cores].sort((a, b) => a - b), expected, `pinned to ${cores.join(', ')} (taskset missing?)`);
  // One thread allowed on exactly the first core, one on exactly the second; the others (this one, V8's) anywhere.
  for (const c of expected) assert.equal(affinities.filter((a) => a === String(c)).length, 1, `threads on core ${c} alone: ${affinities.join(' | ')}`);
  assert.ok(lines.some((l) => /workers: 2 threads, .*pinned to cores \d+, \d+/.test(l)), lines.join('\n'));
});
