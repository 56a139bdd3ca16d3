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

test('warmedUp is called once every thread is ready, and again once a lost thread\'s replacement is, saying whether they all ran the warm-up', async () => {
  const init = threadInit({
    backend: 'cpu', gpu: null, model: getModel('net'), normalization: ARTICLE_NORMALIZATION,
    data: { train: everyByteDataset(8), val: everyByteDataset(2) }, indices: 64, slotCount: 4, evalEntries: 0, threads: 2, maxBatch: 16, warmUpSizes: [],
  });
  const calls: string[] = [];
  let started: ThreadBoard | null = null;
  const board = await ThreadBoard.start(init, {
    threads: 2,
    timeoutMs: 60_000,
    startupTimeoutMs: 60_000,
    warmedUp: (all) => calls.push(`${started ? started.ready().length : -1} ${all}`),
  });
  started = board;
  try {
    assert.deepEqual(calls, ['-1 false'], 'once, when start() has both threads ready (before it returns); on cpu there is no warm-up');
    board.publish(1, new Float32Array(getModel('net').size));
    // A task that ends its thread: the board starts another in its place.
    await assert.rejects(board.run(0, { kind: 'gradient', version: 1, offset: 0, length: 2, fault: 'exit' }, 'micro-batch 0'));
    for (let i = 0; i < 600 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(calls, ['-1 false', '2 false'], 'again when the replacement is ready');
  } finally {
    await board.close();
  }
});

test('warmedUp says true once every thread ran the warm-up (wasm)', async () => {
  process.env['TRAINER_WARMUP_STEPS'] = '4';
  try {
    const init = threadInit({
      backend: 'wasm', gpu: null, model: getModel('net'), normalization: ARTICLE_NORMALIZATION,
      data: { train: everyByteDataset(8), val: everyByteDataset(2) }, indices: 64, slotCount: 4, evalEntries: 0, threads: 2, maxBatch: 4, warmUpSizes: [2],
    });
    const calls: boolean[] = [];
    const board = await ThreadBoard.start(init, { threads: 2, timeoutMs: 60_000, startupTimeoutMs: 60_000, warmedUp: (all) => calls.push(all) });
    await board.close();
    assert.deepEqual(calls, [true]);
  } finally {
    delete process.env['TRAINER_WARMUP_STEPS'];
  }
});

test('an entry whose thread was terminated past its deadline is reusable only once that thread has exited, and then is as good as new', async () => {
  const init = threadInit({
    backend: 'cpu', gpu: null, model: getModel('net'), normalization: ARTICLE_NORMALIZATION,
    data: { train: everyByteDataset(8), val: everyByteDataset(2) }, indices: 64, slotCount: 4, evalEntries: 0, threads: 1, maxBatch: 16, warmUpSizes: [],
  });
  const lines: string[] = [];
  const board = await ThreadBoard.start(init, { threads: 1, timeoutMs: 200, startupTimeoutMs: 60_000, log: (l) => lines.push(l) });
  try {
    board.publish(1, new Float32Array(getModel('net').size));
    const [hung] = board.ready().map((t) => t.thread);
    await assert.rejects(board.run(0, { kind: 'gradient', version: 1, offset: 0, length: 2, fault: 'hang' }, 'step 1 micro-batch 0'), /took longer than 200 ms/);
    // Whether the hung thread was still here when the entry was given back (null: not given back yet).
    let hungThreadHere: boolean | null = null;
    board.whenReusable(0, () => (hungThreadHere = board.positionOf(hung as number) !== undefined));
    assert.equal(hungThreadHere, null, 'not given back while the hung thread may still write its slot');
    assert.throws(() => board.run(0, { kind: 'gradient', version: 1, offset: 0, length: 2 }, 'step 1 micro-batch 0'), /entry 0 is in use/);
    for (let i = 0; i < 600 && hungThreadHere === null; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(hungThreadHere, false, 'given back once the hung thread has exited');
    const r = await board.run(0, { kind: 'gradient', version: 1, offset: 0, length: 2 }, 'step 1 micro-batch 0', 60_000);
    assert.equal(r.count, 2, 'and computed in again, by its replacement');
    assert.notEqual(r.thread, hung);
    assert.deepEqual(lines, [`thread-${hung} (position 0) stalled: step 1 micro-batch 0 took longer than 200 ms (cluster.stepTimeoutMs); terminated; another thread starts in its place (1 of 3 in a row)`]);
  } finally {
    await board.close();
  }
});
