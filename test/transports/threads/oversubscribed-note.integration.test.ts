import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { usableCpus } from '../../../src/shared/cpus.js';
import { oversubscribedNote, threadPoolFactory } from '../../../src/transports/threads/pool.js';
import { smallConfig, tempDir } from '../../helpers.js';

process.env['TRAINER_WARMUP_STEPS'] ??= '2';

test('more threads than CPUs: a note says they only take turns on the CPUs and names the count to use; as many as the CPUs or fewer, none', () => {
  assert.equal(oversubscribedNote(4, 2), '4 threads on 2 CPUs: the threads past the CPUs only take turns on them, and each step waits for its slowest; --threads 2 is usually faster');
  assert.equal(oversubscribedNote(2, 1), '2 threads on 1 CPU: the threads past the CPUs only take turns on them, and each step waits for its slowest; --threads 1 is usually faster');
  assert.equal(oversubscribedNote(2, 2), null);
  assert.equal(oversubscribedNote(1, 16), null);
});

const cpus = usableCpus();
test('trainer train --threads with one thread more than the CPUs prints that note at its start, after the workers line', { skip: cpus > 3 ? `${cpus} CPUs here: ${cpus + 1} threads would take too long` : false }, async () => {
  const dir = await tempDir();
  const threads = cpus + 1;
  const config = smallConfig(dir, { data: { synthetic: { trainSize: 128, valSize: 16 } }, train: { epochs: 1, microBatches: 4 }, cluster: { transport: 'threads', workers: threads } });
  const lines: string[] = [];
  await runTraining({ config, resume: false, createPool: threadPoolFactory(), log: (l) => lines.push(l) });
  const workers = lines.findIndex((l) => l.startsWith(`workers: ${threads} threads`));
  assert.ok(workers >= 0, lines.join('\n'));
  assert.equal(lines[workers + 1], `note: ${oversubscribedNote(threads, cpus)}`);
  assert.equal(lines.filter((l) => l.startsWith('note:')).length, 1);
});
