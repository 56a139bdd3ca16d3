import assert from 'node:assert/strict';
import test from 'node:test';
import { ThreadBoard } from '../../../src/transports/threads/board.js';
import { CTRL, E, ENTRY_INTS, STATE } from '../../../src/transports/threads/messages.js';
import { threadInit } from '../../../src/transports/threads/shared-data.js';
import { ARTICLE_NORMALIZATION } from '../../../src/data/normalize.js';
import { getModel } from '../../../src/worker/model.js';
import { everyByteDataset } from '../../worker/input-fixtures.js';

test('the tasks posted in one turn are all on the board before one wake-up of the threads', async () => {
  const init = threadInit({
    backend: 'cpu', gpu: null, model: getModel('net'), normalization: ARTICLE_NORMALIZATION,
    data: { train: everyByteDataset(8), val: everyByteDataset(2) }, indices: 64, slotCount: 4, evalEntries: 0, threads: 2, maxBatch: 16, warmUpSizes: [],
  });
  // No thread started: nothing claims, so the board shows what a thread woken now would find.
  const board = await ThreadBoard.start(init, { threads: 0, timeoutMs: 60_000, startupTimeoutMs: 60_000 });
  const { ctrl, entries } = init.board;
  const seq = Atomics.load(ctrl, CTRL.SEQ);
  const posted = [0, 1, 2, 3].map((m) => board.run(m, { kind: 'gradient', version: 1, offset: m * 2, length: 2, prefer: m % 2 }, `micro-batch ${m}`));
  for (const p of posted) p.catch(() => {});
  assert.equal(Atomics.load(ctrl, CTRL.SEQ), seq, 'no wake-up while the turn still posts');
  for (let m = 0; m < 4; m++) assert.equal(Atomics.load(entries, m * ENTRY_INTS + E.STATE), STATE.PENDING);
  await Promise.resolve();
  assert.equal(Atomics.load(ctrl, CTRL.SEQ), seq + 1, 'one wake-up for the four');
  await board.close();
  assert.ok((await Promise.allSettled(posted)).every((r) => r.status === 'rejected'), 'and with no thread, they fail');
});
