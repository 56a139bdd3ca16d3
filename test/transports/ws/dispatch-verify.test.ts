// The ws dispatcher's judgement of untrusted results, without sockets: fake
// connections that record what they are sent, answered honestly or not.
import assert from 'node:assert/strict';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import type { WorkerConn } from '../../../src/transports/ws/connection.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { Dispatcher, newMember, type Member } from '../../../src/transports/ws/dispatch.js';
import type { Message, MessageOf } from '../../../src/transports/ws/protocol.js';
import type { MicroBatchResult } from '../../../src/transports/pool.js';
import type { ModelSpec } from '../../../src/worker/model.js';

const SIZE = 8;
const model = { name: 'net', size: SIZE } as unknown as ModelSpec;

/** The honest gradient of part i at step s. */
const honest = (s: number, i: number) => Float32Array.from({ length: SIZE }, (_, k) => (s + 1) * 0.01 * (i + 1) * (k + 1));

/**
 * A gradient, nothing (silence), 'fail': the worker cannot compute the task and closes with 4400
 * "bad task ID: why", or 'wait': asked again at the next turn (after the worker's other tasks).
 */
type Answer = (step: number, index: number, g: Float32Array) => Float32Array | null | 'fail' | 'wait';

class FakeConn {
  state: 'ready' | 'closed' = 'ready';
  threads = 1;
  backend = 'wasm';
  pendingBytes = 0;
  closed: { code: number; reason: string } | null = null;
  readonly tasks: MessageOf<'task'>[] = [];
  constructor(
    readonly id: string,
    readonly name: string,
    readonly answer: Answer,
    private readonly onClose: (c: FakeConn) => void,
  ) {}
  /** The name up to a '#': `a#2` is worker a connected again (the same process). */
  get identity(): string {
    return this.name.split('#')[0] as string;
  }
  send(m: Message): void {
    if (m.type === 'task') this.tasks.push(m);
  }
  sendFrame(frame: Uint8Array): void {
    decodeMessage(frame, 'coordinator');
  }
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = { code, reason };
    this.state = 'closed';
    this.onClose(this);
  }
}

function setUp(answers: Record<string, Answer>, verify: number, draws: number[] = [], noWorkerTimeoutMs = 60_000) {
  const members = new Map<WorkerConn, Member>();
  const log: string[] = [];
  const waiting: [string, Answer][] = [];
  let d!: Dispatcher;
  const conns = Object.entries(answers).map(
    ([name, answer]) =>
      new FakeConn(`w-${name}`, name, answer, (c) => {
        const m = members.get(c as unknown as WorkerConn);
        members.delete(c as unknown as WorkerConn);
        if (m) d.requeue(m, c.closed?.code === 4400 ? c.closed.reason : null);
      }),
  );
  for (const c of conns) members.set(c as unknown as WorkerConn, newMember(c as unknown as WorkerConn));
  /** A worker joining between steps. */
  const join = (name: string, answer: Answer) => {
    const c = new FakeConn(`w-${name}`, name, answer, (x) => {
      const m = members.get(x as unknown as WorkerConn);
      members.delete(x as unknown as WorkerConn);
      if (m) d.requeue(m);
    });
    conns.push(c);
    members.set(c as unknown as WorkerConn, newMember(c as unknown as WorkerConn));
  };
  d = new Dispatcher({
    model,
    tasksInFlight: 2,
    noWorkerTimeoutMs,
    verify,
    maxNormRatio: 1000,
    draw: () => draws.shift() ?? 0.99,
    members,
    // Workers that became ready while a job runs: members when the dispatcher asks.
    admitJoiners: () => {
      const admitted = waiting.splice(0);
      for (const [name, answer] of admitted) join(name, answer);
      return admitted.length;
    },
    ban: (conn, reason) => conn.close(4403, reason),
    // As the pool does once two workers agree: workers of other backend kinds leave.
    kindsSettled: (kinds) => {
      for (const c of conns) if (!kinds.has(c.backend)) c.close(4403, 'another backend');
    },
    log: (l) => log.push(l),
  });
  /** Runs step `s` of `parts` micro-batches, answering every task as it is given, until the step settles. */
  const step = async (s: number, parts = 3) => {
    d.publish(s, new Float32Array(SIZE));
    const reported: number[] = [];
    let settled = false;
    const p = d
      .runStep(s, Array.from({ length: parts }, (_, i) => Int32Array.of(i)), { onResult: (m) => void reported.push(m) })
      .finally(() => (settled = true));
    p.catch(() => {}); // awaited below; a rejection meanwhile is not unhandled
    for (let turn = 0; turn < 400 && !settled; turn++) {
      for (const c of conns) {
        const t = c.tasks.shift();
        const member = members.get(c as unknown as WorkerConn);
        if (!t || !member) continue;
        const index = t.indices[0] as number;
        const g = c.answer(s, index, honest(s, index));
        if (g === null) continue;
        if (g === 'wait') {
          c.tasks.push(t);
          continue;
        }
        if (g === 'fail') {
          c.close(4400, `bad task ${t.taskId}: memory access out of bounds`);
          continue;
        }
        const lossSum = Number.isFinite(g[0]) ? 1 : NaN;
        d.onResult(member, { type: 'gradient', taskId: t.taskId, step: t.step, version: t.version, lossSum, correct: 0, count: 1, computeMs: 1, startedAt: 0, gradient: g });
      }
      await new Promise((r) => setTimeout(r, 5));
      d.tick(performance.now()); // as the pool's timer does
    }
    if (!settled) throw new Error(`step ${s} did not settle within 400 turns:\n${log.join('\n')}`);
    return { results: (await p) as MicroBatchResult[], reported };
  };
  return { conns, log, step, d, join, waiting };
}

const truthful: Answer = (_s, _i, g) => g;

test('cluster.verify 1: every part computed twice, a wrong result goes to a third worker, the liar is evicted and named, the honest bits are used', async () => {
  const liar: Answer = (_s, _i, g) => g.map((x) => x * 1.01);
  const { conns, log, step } = setUp({ a: truthful, b: truthful, liar }, 1);
  for (const s of [0, 1]) {
    const { results, reported } = await step(s);
    assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2].map((i) => Array.from(honest(s, i))));
    assert.deepEqual([...reported].sort(), [0, 1, 2], 'each part reported once');
  }
  const [a, b, l] = conns as [FakeConn, FakeConn, FakeConn];
  assert.equal(l.closed?.code, 4403);
  assert.match(l.closed?.reason ?? '', /verification mismatch on micro-batch \d of step 1/);
  assert.ok(log.some((x) => /^worker w-liar \(liar\) evicted and refused for the rest of the run: verification mismatch on micro-batch/.test(x)), log.join('\n'));
  assert.equal(a.closed, null);
  assert.equal(b.closed, null);
});

test('verification with one worker of each backend kind: the wait for another worker, and the run\'s end, say the kinds never agree', async () => {
  // Another backend: the same values but for the low bits.
  const otherKind: Answer = (_s, _i, g) => g.map((x) => x * (1 + 2 ** -20));
  const { conns, log, step } = setUp({ a: truthful, b: otherKind }, 1, [], 300);
  (conns[1] as FakeConn).backend = 'cpu';
  const why = 'cluster.verify compares results bit for bit, and the workers present run 2 backends, cpu, wasm, whose results differ in the low bits: a verified part needs two workers of one backend';
  await assert.rejects(step(0), (e) => {
    assert.ok(isTrainerError(e, 'E_NO_WORKERS'), String(e));
    assert.equal(e.message, `no other worker joined to compute a part a second time (${why}) within cluster.noWorkerTimeoutMs (300 ms)`);
    return true;
  });
  assert.ok(log.some((x) => x.endsWith(`needs another worker than the 2 present (${why}); waiting up to 0.3 s for one to join`)), log.join('\n'));
  // One kind: nothing about kinds (a third worker is simply missing).
  const same = setUp({ a: truthful, b: otherKind }, 1, [], 300);
  await assert.rejects(same.step(0), (e) => isTrainerError(e, 'E_NO_WORKERS') && e.message === 'no other worker joined to compute a part a second time within cluster.noWorkerTimeoutMs (300 ms)');
});

test('without verification, workers of two backend kinds answering one part of the first step: the first result is used and the other warned about (it waited for a third worker, then stopped)', async () => {
  // b computes on another backend (other low bits) and is slow: part 1 goes to a as well, and b
  // answers it too while the held first step still waits for part 3.
  const answered = new Set<string>();
  const a: Answer = (s, i, g) => (answered.add(`a ${s}/${i}`), g);
  const b: Answer = (s, i, g) => {
    if (s === 0 && i === 1 && !answered.has('a 0/1')) return 'wait';
    if (s === 0 && i === 3 && !answered.has('b 0/1')) return 'wait';
    answered.add(`b ${s}/${i}`);
    return g.map((x) => x * (1 + 2 ** -20));
  };
  const { conns, log, step } = setUp({ a, b }, 0, [], 300);
  (conns[1] as FakeConn).backend = 'cpu';
  const { results } = await step(0, 4);
  assert.ok(answered.has('a 0/1') && answered.has('b 0/1'), 'both answered part 1');
  assert.deepEqual(Array.from(results[1]?.gradient ?? []), Array.from(honest(0, 1)), "a's result, the first, is used");
  assert.ok(log.some((x) => x === 'warning: worker w-b (b) and worker w-a (a) disagree on micro-batch 1 of step 1 (the first, unverified, was used)'), log.join('\n'));
  assert.ok(conns.every((c) => c.closed === null), 'nobody evicted');
  await step(1, 4);
});

test('without verification, a huge gradient is suspect: recomputed elsewhere, its sender evicted and named, the honest worker never', async () => {
  const huge: Answer = (s, _i, g) => (s === 1 ? g.fill(3e38) : g);
  const { conns, log, step } = setUp({ a: truthful, poisoner: huge }, 0);
  await step(0);
  const { results } = await step(1);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2].map((i) => Array.from(honest(1, i))));
  assert.equal(conns[1]?.closed?.code, 4403);
  assert.match(conns[1]?.closed?.reason ?? '', /a gradient norm .* times the other workers' median \(cluster.maxNormRatio 1000\) in its result for micro-batch \d of step 2/);
  assert.equal(conns[0]?.closed, null);
  assert.ok(log.some((x) => /worker w-poisoner \(poisoner\) evicted/.test(x)));
});

test('a huge gradient in the very first step is judged against the step\'s other parts', async () => {
  const { conns, step } = setUp({ a: truthful, poisoner: (_s, i, g) => (i === 1 ? g.fill(3e38) : g) }, 0);
  const { results } = await step(0, 4);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(0, i))));
  assert.equal(conns[1]?.closed?.code, 4403);
});

test('two workers agreeing on a NaN result is divergence (E_DIVERGED), and nobody is evicted for it', async () => {
  const nan: Answer = (s, i, g) => (s === 1 && i === 2 ? g.fill(NaN) : g);
  const { conns, step } = setUp({ a: nan, b: nan }, 0);
  await step(0);
  await assert.rejects(step(1), (e) => isTrainerError(e, 'E_DIVERGED') && /micro-batch 2 of step 2/.test(e.message));
  assert.ok(conns.every((c) => c.closed === null));
});

test('a lone worker with verification off is trusted: its NaN is divergence at once', async () => {
  const { step } = setUp({ a: (_s, i, g) => (i === 0 ? g.fill(NaN) : g) }, 0);
  await assert.rejects(step(0), (e) => isTrainerError(e, 'E_DIVERGED') && /no other worker is there to confirm it/.test(e.message));
});

test('cluster.verify 0.5: a liar caught after results of it were used unverified stops the run with E_VERIFY naming the step', async () => {
  // Step 0: no part verified (draws 0.9); step 1: every part verified (draws 0.1).
  const draws = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1];
  const liar: Answer = (s, _i, g) => (s === 1 ? g.map((x) => x + 1) : g);
  const { conns, step } = setUp({ a: truthful, b: truthful, liar }, 0.5, draws);
  await step(0);
  await assert.rejects(step(1), (e) => {
    assert.ok(isTrainerError(e, 'E_VERIFY'), String(e));
    assert.match(e.message, /^worker w-liar \(liar\) was caught sending a wrong result .* and 1 result\(s\) of it since step 1 were used unverified \(cluster\.verify 0\.5\)/);
    return true;
  });
  assert.equal(conns[2]?.closed?.code, 4403);
});

test('a worker that never answers has its parts run again by an idle worker once they are slow: the step does not wait for it', async () => {
  const { conns, log, step } = setUp({ a: truthful, staller: (s, _i, g) => (s === 0 ? g : null) }, 0);
  await step(0);
  const t0 = performance.now();
  const { results } = await step(1, 4);
  assert.ok(performance.now() - t0 < 2000);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(1, i))));
  assert.ok(log.some((x) => /micro-batch \d of step 2 is slow \(past \d+ ms on worker w-staller \(staller\)\): also given to worker w-a \(a\)/.test(x)), log.join('\n'));
  assert.equal(conns[1]?.closed, null, 'slow is not evicted (stepTimeoutMs does that)');
});

test('a worker that becomes ready during a step is taken in when a wanted copy waits only for a full worker whose parts are slow (a holder kept a verification copy until cluster.stepTimeoutMs)', async () => {
  // Step 1: the holder takes micro-batches 0 and 2 and never answers; a computes 1 and 3, then 0 and
  // 2 as slow ones (each needs one result). 3 is verified: its second copy waits for a worker that
  // has not computed it, and the holder, full, is the only one present.
  const holder: Answer = (s, _i, g) => (s === 0 ? g : null);
  const { conns, log, step, waiting } = setUp({ holder, a: truthful }, 0.5, [0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.1]);
  await step(0, 4);
  setTimeout(() => waiting.push(['b', truthful]), 100);
  const { results } = await step(1, 4);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(1, i))));
  assert.ok(log.some((x) => /^micro-batch [02] of step 2 is slow \(past \d+ ms on worker w-holder \(holder\)\): also given to worker w-a \(a\)$/.test(x)), log.join('\n'));
  assert.equal(conns.find((c) => c.name === 'b')?.tasks.length, 0, 'b computed the copy it was given');
  assert.ok(conns.some((c) => c.name === 'b'), 'b was taken in');
});

test('a worker still holding an earlier step\'s tasks, never answered, is full: one ready meanwhile is taken in for a wanted copy only that worker had not computed (it waited until cluster.stepTimeoutMs)', async () => {
  // The holder takes micro-batches 0 and 2 of step 0 and never answers anything: a computes them
  // again as slow ones. In step 1 the holder is still full with them, a computes every part, and
  // part 3 is verified: its second copy could go to the holder only, and b, ready meanwhile, waited.
  const { conns, step, waiting } = setUp({ holder: () => null, a: truthful }, 0.5, [0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.99, 0.1]);
  await step(0, 4);
  // Ready once step 1 runs (a worker ready between steps joins at the next one).
  setTimeout(() => waiting.push(['b', truthful]), 100);
  const { results } = await step(1, 4);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(1, i))));
  const b = conns.find((c) => c.name === 'b');
  assert.ok(b, 'b was taken in');
  assert.equal(b.tasks.length, 0, 'b computed the copy it was given');
});

test('two token holders agreeing on NaN do not stop a run of three workers: the third computes a finite result, and both are refused', async () => {
  const nan: Answer = (s, _i, g) => (s === 1 ? g.fill(NaN) : g);
  const { conns, step } = setUp({ a: truthful, l1: nan, l2: nan }, 0);
  await step(0);
  const { results } = await step(1);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2].map((i) => Array.from(honest(1, i))));
  assert.equal(conns[0]?.closed, null);
  assert.deepEqual([conns[1]?.closed?.code, conns[2]?.closed?.code], [4403, 4403]);
});

test('workers with no result used yet cannot confirm a NaN: fresh ones agreeing on it are refused, and the run goes on', async () => {
  const { conns, step, join } = setUp({ a: truthful, b: truthful }, 0);
  await step(0);
  for (const name of ['l1', 'l2', 'l3']) join(name, (_s, _i, g) => g.fill(NaN));
  const { results } = await step(1, 5);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3, 4].map((i) => Array.from(honest(1, i))));
  assert.deepEqual(conns.map((c) => c.closed?.code ?? null), [null, null, 4403, 4403, 4403]);
});

test('a micro-batch that no worker can compute (each closes with "bad task") ends the step with E_WORKER_LOST once every worker failed on it: it looped, workers reconnecting and failing again, for ever', async () => {
  const cannot: Answer = (_s, i, g) => (i === 1 ? 'fail' : g);
  const { step } = setUp({ a: cannot, b: cannot, c: cannot, d: cannot }, 0);
  await assert.rejects(step(0), (e) => isTrainerError(e, 'E_WORKER_LOST') && /^micro-batch 1 of step 1 could not be computed: it failed 4 times on 4 worker\(s\), and no other is here: memory access out of bounds$/.test(e.message));
});

test('one worker that fails a micro-batch again each time it reconnects (the same process) ends the step after 3 failures: the job looped for ever with fewer than 3 worker processes', async () => {
  const cannot: Answer = (_s, i, g) => (i === 1 ? 'fail' : g);
  const { step } = setUp({ 'a#1': cannot, 'a#2': cannot, 'a#3': cannot }, 0);
  await assert.rejects(step(0), (e) => isTrainerError(e, 'E_WORKER_LOST') && /^micro-batch 1 of step 1 could not be computed: it failed 3 times on 1 worker\(s\), and no other is here: memory access out of bounds$/.test(e.message));
});

test('connections of one token holder that all say "bad task" do not end the step while a worker that became ready meanwhile can compute the part (its joiners were not counted as present)', async () => {
  let go = false;
  const blame: Answer = (_s, i, g) => (i === 0 ? (go ? 'fail' : 'wait') : g);
  const { step, conns, waiting, d } = setUp({ 'l#1': blame, 'l#2': blame, 'l#3': blame }, 0);
  setTimeout(() => {
    waiting.push(['honest', truthful]);
    d.joined(); // as the pool says it: nobody needs it yet, so it waits to be admitted
    go = true;
  }, 20);
  const { results } = await step(0);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2].map((i) => Array.from(honest(0, i))));
  assert.equal(conns.find((c) => c.name === 'honest')?.closed, null);
});

test('cluster.verify 1: the copy that checks a result goes to another worker, not to a second connection of the same one (one token holder confirmed its own lies)', async () => {
  const liar: Answer = (_s, _i, g) => g.map((x) => x + 1);
  const { conns, step } = setUp({ 'l#1': liar, 'l#2': liar, a: truthful, b: truthful }, 1);
  for (const s of [0, 1]) {
    const { results } = await step(s, 4);
    assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(s, i))), `step ${s}: the honest bits`);
  }
  assert.deepEqual(conns.map((c) => [c.name, c.closed?.code ?? null]), [['l#1', 4403], ['l#2', 4403], ['a', null], ['b', null]]);
});

test('cluster.verify 1 with a worker of another backend kind (other low bits): once two workers of one kind agree, it leaves, its votes on open parts are dropped, and every part ends with the agreed bits', async () => {
  const otherBits: Answer = (_s, _i, g) => g.map((x) => Math.fround(x * 1.0001));
  const { conns, step } = setUp({ a: truthful, c: otherBits, b: truthful }, 1);
  (conns[1] as FakeConn).backend = 'cpu';
  const { results } = await step(0, 5);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3, 4].map((i) => Array.from(honest(0, i))));
  assert.deepEqual(conns.map((c) => c.closed?.code ?? null), [null, 4403, null]);
});

test('three workers that say "bad task" do not end the step while another is there to compute the part: it does, and the step ends with the honest bits (token holders stopped a run so)', async () => {
  const blame: Answer = (_s, i, g) => (i === 0 ? 'fail' : g);
  const { step, conns } = setUp({ l1: blame, l2: blame, l3: blame, honest: truthful }, 0);
  const { results } = await step(0);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2].map((i) => Array.from(honest(0, i))));
  assert.equal(conns.find((c) => c.name === 'honest')?.closed, null);
});

test('without verification, a worker sending its gradients 1e4 times too small gets no honest worker evicted, in either order: the honest one was measured against the liar\'s norms, evicted and its parts left to the liar', async () => {
  const small: Answer = (_s, _i, g) => g.map((x) => x * 1e-4);
  for (const answers of [{ honest: truthful, small }, { small, honest: truthful }]) {
    const { conns, log, step } = setUp(answers, 0);
    for (const s of [0, 1, 2]) await step(s, 4);
    assert.equal(conns.find((c) => c.name === 'honest')?.closed, null, log.join('\n'));
    assert.ok(!log.some((l) => /\(honest\) evicted/.test(l)), log.join('\n'));
  }
});

test('without verification, two honest workers and one sending gradients 1e4 times too small that answers first: no honest worker is evicted for its norms (they were measured against them)', async () => {
  let answered = 0;
  const small: Answer = (_s, _i, g) => (answered++, g.map((x) => x * 1e-4));
  // The honest workers answer once the liar has answered 4 tasks of the step: its norms are most of the first ones.
  const slow: Answer = (s, _i, g) => (answered < 4 * (s + 1) ? 'wait' : g);
  const { conns, log, step } = setUp({ small, a: slow, b: slow }, 0);
  for (const s of [0, 1]) await step(s, 6);
  assert.deepEqual(conns.map((c) => c.closed?.code ?? null).slice(1), [null, null], log.join('\n'));
});

test('cluster.verify 1, a worker answering at once with tiny random gradients: the two honest workers agree, the liar is evicted and the run goes on (the honest ones were suspect against its norms, and 3 workers could not confirm them)', async () => {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 1e-6;
  const liar: Answer = (_s, _i, g) => g.map(() => Math.fround(random()));
  let answered = 0;
  const instant: Answer = (s, i, g) => (answered++, liar(s, i, g));
  // The honest workers answer once the liar has answered 4 tasks: it is ready first and quick.
  const slow: Answer = (_s, _i, g) => (answered < 4 ? 'wait' : g);
  const { conns, log, step } = setUp({ liar: instant, a: slow, b: slow }, 1, [], 300);
  for (const s of [0, 1]) {
    const { results } = await step(s, 6);
    assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3, 4, 5].map((i) => Array.from(honest(s, i))));
  }
  assert.deepEqual(conns.map((c) => c.closed?.code ?? null), [4403, null, null], log.join('\n'));
  assert.match(conns[0]?.closed?.reason ?? '', /verification mismatch on micro-batch \d of step 1/);
});

test('without verification, two workers, one sending 3e38 from its first result: its results are never used and nobody is evicted, since each is out of bounds measured against the other (the mirror of one 1e4 times too small); a warning names them', async () => {
  const huge: Answer = (_s, _i, g) => g.fill(3e38);
  const { conns, log, step } = setUp({ poisoner: huge, a: truthful }, 0);
  for (const s of [0, 1]) {
    const { results } = await step(s, 4);
    assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(s, i))));
  }
  assert.ok(conns.every((c) => c.closed === null), log.join('\n'));
  assert.ok(log.some((l) => /^warning: worker w-a \(a\) and worker w-poisoner \(poisoner\) disagree on micro-batch \d of step 1, the first with a gradient norm .* neither is evicted/.test(l)), log.join('\n'));
});

test('slow parts given to a second worker are said once, then at most a line a minute with their count (a busy 2-core machine logged ~100 such lines a run); what is not said yet is said when the run ends', async () => {
  const { log, step, d } = setUp({ a: truthful, staller: (s, _i, g) => (s === 0 ? g : null) }, 0);
  await step(0);
  const { results } = await step(1, 4);
  assert.deepEqual(results.map((r) => Array.from(r.gradient)), [0, 1, 2, 3].map((i) => Array.from(honest(1, i))));
  const slow = () => log.filter((x) => / is slow \(past \d+ ms on worker \S+ \(\w+\)\): also given to worker /.test(x));
  assert.equal(slow().length, 1, log.join('\n'));
  assert.match(slow()[0] as string, /^micro-batch \d of step 2 is slow \(past \d+ ms on worker w-staller \(staller\)\): also given to worker w-a \(a\)$/);
  // The staller held two parts: the second is told at the end, not lost.
  d.end();
  assert.equal(slow().length, 2, log.join('\n'));
  assert.match(slow()[1] as string, /^micro-batch \d of step 2 is slow \(past \d+ ms on worker w-staller \(staller\)\): also given to worker w-a \(a\)$/);
});
