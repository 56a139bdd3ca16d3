import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { SPARE_SLOTS, threadPoolFactory } from '../../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';

// A task's deadline: a warm thread computes a micro-batch of 16 in milliseconds, tens of them on a
// loaded machine. A timeout that is not injected changes nothing asserted below (its micro-batch is
// run again), so this is short: each round of hangs costs it.
const STEP_TIMEOUT_MS = 500;
// Threads warm up as under npm test, and never less: a cold thread's first gradient can take longer
// than STEP_TIMEOUT_MS, and its replacement's too, until a micro-batch has failed every attempt.
process.env['TRAINER_WARMUP_STEPS'] = '2';

// 256 examples in batches of 64: steps 0..3, four micro-batches each, on two threads.
async function train(dir: string, name: string, createPool: PoolFactory) {
  const config = smallConfig(dir, {
    run: { name },
    data: { synthetic: { trainSize: 256 } },
    train: { epochs: 1, microBatches: 4 },
    cluster: { transport: 'threads', workers: 2, stepTimeoutMs: STEP_TIMEOUT_MS },
  });
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    quietLog(line);
  };
  const r = await runTraining({ config, resume: false, createPool, log });
  return { sha: r.weightsSha256, lines };
}

test('more timeouts over a run than there are spare gradient slots: each is logged and survived, and the weights stay bit-identical', async () => {
  const dir = await tempDir();
  const clean = await train(dir, 'clean', threadPoolFactory());

  // The first attempt of micro-batches 0 and 1 of steps 1, 2 and 3 hangs until its thread is
  // terminated: both threads at once, three steps running. Each hang costs its slot until its
  // thread has exited; the old pool never gave it back and had none left at the fifth.
  const injected: string[] = [];
  const hung = await train(
    dir,
    'hung',
    threadPoolFactory({
      // Three hangs at each position by design, and a loaded machine may add a timeout of its own:
      // the limit on replacements in a row (board.ts, tested in replacement-limit) is not this test's.
      maxReplacements: 10,
      injectFault: (step, m, attempt) => {
        if (attempt !== 0 || step < 1 || m > 1) return undefined;
        injected.push(`${step}/${m}`);
        return 'hang';
      },
    }),
  );
  assert.deepEqual(injected.sort(), ['1/0', '1/1', '2/0', '2/1', '3/0', '3/1']);
  assert.ok(injected.length > SPARE_SLOTS, `more hangs (${injected.length}) than spare slots (${SPARE_SLOTS})`);
  assert.equal(hung.sha, clean.sha, 'the weights after six timeouts');
  // A replacement's first result could come before its 'ready': its backend was '' then.
  assert.ok(!hung.lines.some((l) => /mixed backends/.test(l)), hung.lines.join('\n'));
  for (const at of injected) {
    const [step, m] = at.split('/');
    const said = new RegExp(`^thread-\\d+ \\(position [01]\\) stalled: step ${Number(step) + 1} micro-batch ${m} took longer than ${STEP_TIMEOUT_MS} ms \\(cluster\\.stepTimeoutMs\\); terminated; another thread starts in its place \\(\\d+ of 10 in a row\\)$`);
    assert.ok(hung.lines.some((l) => said.test(l)), `a line for the timeout of ${at}:\n${hung.lines.join('\n')}`);
  }
});
