import assert from 'node:assert/strict';
import test from 'node:test';
import { checkResult, createJob, type Assignment } from '../../../src/transports/ws/job.js';
import type { MessageOf } from '../../../src/transports/ws/protocol.js';

const parts = [Int32Array.of(0, 1), Int32Array.of(2, 3), Int32Array.of(4)];

test('a job queues each part as many times as it needs results, lowest index first', () => {
  const { job } = createJob('grad', 5, 5, 'train', parts, (i) => (i === 1 ? 2 : 1), () => {});
  assert.deepEqual(job.queue.map((p) => p.index), [0, 1, 1, 2]);
  assert.deepEqual(job.parts.map((p) => [p.need, p.queued]), [[1, 1], [2, 2], [1, 1]]);
  assert.equal(job.remaining, 3);
});

test('a result that does not fit its task is refused with the reason; its values are judged later, NaN included', () => {
  const { job } = createJob('grad', 5, 5, 'train', parts, () => 1, () => {});
  const a: Assignment = { id: 9, job, part: job.parts[1] as Assignment['part'], sentMs: 0, speculative: false };
  const m: MessageOf<'gradient'> = { type: 'gradient', taskId: 9, step: 5, version: 5, lossSum: 1, correct: 1, count: 2, computeMs: 1, startedAt: 0, gradient: new Float32Array(4) };
  assert.ok('ok' in checkResult(a, m, 4, 'w'));
  assert.ok('ok' in checkResult(a, { ...m, lossSum: NaN, gradient: new Float32Array(4).fill(NaN) }, 4, 'w'));
  const refused = (x: MessageOf<'gradient'> | MessageOf<'evalResult'>) => {
    const r = checkResult(a, x, 4, 'w');
    return 'refused' in r ? r.refused : null;
  };
  assert.equal(refused({ ...m, version: 4 }), 'result at version 4, task at 5');
  assert.equal(refused({ ...m, step: 6 }), 'gradient for step 6, task of step 5');
  assert.equal(refused({ ...m, count: 1 }), 'count or correct does not fit the task');
  assert.equal(refused({ ...m, correct: 3, count: 2 }), 'count or correct does not fit the task');
  assert.equal(refused({ ...m, gradient: new Float32Array(3) }), 'gradient of 3 values, model has 4');
  assert.equal(refused({ type: 'evalResult', taskId: 9, version: 5, lossSum: 1, correct: 0, count: 2 }), 'evaluation result during a training step');
});
