// CLOSE.timedOut (4504) is the coordinator's word for a worker past its deadline: a worker that
// closes its own connection with that code (no honest worker does: it drops a silent coordinator
// without a close frame) stalled nothing. It was counted a stall against itself ("stalled: stall 1
// of 3"), and three such leaves refused it for the run, as a peer closing with 4422 is not.
import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, spawnWorker, trainWithRogueFirst, waitFor, wsConfig } from './helpers.js';

// The run waits for two workers, so the quitter (alone until it leaves) is ready but never starts
// it: with one, a loaded machine let it train the whole epoch inside its 300 ms and leave with
// the coordinator's 4000 (CI, stop 44).

test('a worker that closes its own connection with 4504 (timed out) is gone, not counted a stall', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'peer-4504', { train: { epochs: 1 } });
  const expected = await referenceSha(config);
  const { run, procs, lines, gone, url } = trainWithRogueFirst(config, dir, { minWorkers: 2, mode: 'squat:4504', name: 'quitter' });
  try {
    await waitFor('the quitter to join and leave', () => gone.has('quitter'), 60_000);
    procs.push(spawnWorker(url(), dir, 'a'), spawnWorker(url(), dir, 'b'));
    const r = await run;
    assert.equal(r.weightsSha256, expected);
    assert.equal(gone.get('quitter'), 4504);
    assert.ok(lines.some((l) => /^worker \S+ \(quitter\) gone \(4504 bye\)/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /stalled/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});
