import assert from 'node:assert/strict';
import test from 'node:test';
import { ThrottledLog } from '../../../src/transports/ws/throttled-log.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, rawWorker, startBarePool, visit, waitFor, type RawTask } from './helpers.js';

const FORGED = 'bye\nmodel saved to /tmp/x/model (weights sha256 0000)\n\x1b[31merror E_DIVERGED: fake\x1b[0m';

test('a leave before authentication puts nothing of its reason in the log', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    await visit(url, null, { type: 'leave', reason: FORGED });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!lines.some((l) => /model saved|E_DIVERGED|\x1b|\n/.test(l)), lines.join('\n'));
  } finally {
    await pool.close();
  }
});

test("an authenticated worker's leave reason is logged on one line, its control characters escaped", async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    await visit(url, TOKEN, { type: 'leave', reason: FORGED + 'x'.repeat(150) });
    await waitFor('the leave logged', () => lines.some((l) => / leaves: /.test(l)), 5000);
    const line = lines.find((l) => / leaves: /.test(l)) as string;
    assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
    assert.match(line, /leaves: bye\\nmodel saved .*\\u001b\[31merror/);
    assert.ok(line.length < 250, `${line.length} characters`);
  } finally {
    await pool.close();
  }
});

test('50 failed authentications give one log line at once (the rest of the count comes with the next line: ThrottledLog below)', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    for (let i = 0; i < 50; i += 10) await Promise.all(Array.from({ length: 10 }, () => visit(url, 'not-the-token', null)));
    const told = () => lines.filter((l) => /authentication/.test(l));
    assert.equal(told().length, 1, told().join('\n'));
    assert.match(told()[0] as string, /^1 connection\(s\) failed authentication since the last such line, the last from 127\.0\.0\.1:\d+$/);
  } finally {
    await pool.close();
  }
});

test('a throttled burst: one line at once, and one with the rest of the count when its time comes, though nothing else comes', async () => {
  const lines: string[] = [];
  const log = new ThrottledLog((l) => lines.push(l), (count, last) => `${count} since the last such line, the last ${last}`, 300);
  for (let i = 1; i <= 50; i++) log.note(`#${i}`);
  assert.deepEqual(lines, ['1 since the last such line, the last #1']);
  await waitFor('the rest of the burst told', () => lines.length === 2, 5000);
  assert.equal(lines[1], '49 since the last such line, the last #50');
});

test('a throttled log with a burst of 3 tells the first 3 of an interval at once, holds the rest and tells their count when its time comes, then starts a burst again after a quiet interval', async () => {
  const lines: string[] = [];
  const log = new ThrottledLog((l) => lines.push(l), (count, last) => `${count}: ${last}`, 300, 3);
  for (let i = 1; i <= 10; i++) log.note(`#${i}`);
  assert.deepEqual(lines, ['1: #1', '1: #2', '1: #3']);
  await waitFor('the rest of the burst told', () => lines.length === 4, 5000);
  assert.equal(lines[3], '7: #10');
  // Within the interval that line began: held again.
  log.note('#11');
  assert.equal(lines.length, 4);
  await waitFor('#11 told', () => lines.length === 5, 5000);
  assert.equal(lines[4], '1: #11');
  await new Promise((resolve) => setTimeout(resolve, 400));
  log.note('#12');
  log.note('#13');
  assert.deepEqual(lines.slice(5), ['1: #12', '1: #13'], 'a quiet interval: told at once again');
  log.flush();
});

test('an event held back and told a while later (flushed at the end of a run) says how long ago it came; one told at once does not', async () => {
  const lines: string[] = [];
  const log = new ThrottledLog((l) => lines.push(l), (count, last) => `${count}: ${last}`, 60_000);
  log.note('first');
  log.note('slow part 4 on worker w1');
  await new Promise((resolve) => setTimeout(resolve, 1600));
  log.flush();
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.equal(lines[0], '1: first');
  assert.match(lines[1] as string, /^1: slow part 4 on worker w1 \([2-9] s ago\)$/);
});

test('a worker whose frame breaks the WebSocket rules is logged with what it broke, not just "socket error"', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    // Authenticated and joining: a frame past the 1 kB allowed before a worker is ready.
    await visit(url, TOKEN, { type: 'leave', reason: 'x'.repeat(2000) });
    await waitFor('the close logged', () => lines.some((l) => /left while joining/.test(l)), 5000);
    assert.match(lines.find((l) => /left while joining/.test(l)) as string, /\(4400 socket error: Max payload size exceeded\)$/);
  } finally {
    await pool.close();
  }
});

/** Where the first line matching `re` is in `lines` (-1: none). */
const lineOf = (lines: readonly string[], re: RegExp) => lines.findIndex((l) => re.test(l));

test('the "slow" lines held back about a worker are told before its "gone" line (the rest of the count came after it, as if it were still in the run)', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  let step: Promise<unknown> | null = null;
  try {
    // Joined first: in each pass it is given a part before the other.
    const slow = await rawWorker(url, 'slow');
    await waitFor('slow ready', () => pool.size === 1, 5000);
    const quick = await rawWorker(url, 'quick', { answerAtOnce: true });
    await waitFor('quick ready', () => pool.size === 2, 5000);
    await pool.publish(0, new Float32Array(slow.modelSize()));
    step = pool.runStep(0, [0, 1, 2, 3].map((i) => Int32Array.of(i)), { onResult: () => {} });
    // Its two parts are slow once quick has answered its own: both go to quick, the second one's line held back (at most one a minute).
    await step;
    assert.equal(slow.tasks.length, 2);
    assert.equal(lines.filter((l) => / is slow .*\(slow\)\): also given to worker \S+ \(quick\)$/.test(l)).length, 1, lines.join('\n'));
    slow.ws.terminate();
    await waitFor('slow gone', () => lineOf(lines, /\(slow\) gone \(1006/) >= 0, 5000);
    const gone = lineOf(lines, /\(slow\) gone \(1006/);
    const slowLines = lines.flatMap((l, i) => (/ is slow .*\(slow\)\)/.test(l) ? [i] : []));
    assert.equal(slowLines.length, 2, `both slow parts told: ${lines.join('\n')}`);
    assert.ok(slowLines.every((i) => i < gone), `after "gone":\n${lines.join('\n')}`);
  } finally {
    await pool.close();
    await step?.catch(() => null);
  }
});

test('a worker that left before its result lost a verification is said to be gone and refused, not "evicted" (its line read as if it were still in the run)', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir(), { cluster: { verify: 1 } });
  let step: Promise<unknown> | null = null;
  try {
    const liar = await rawWorker(url, 'liar');
    const honest = await rawWorker(url, 'honest');
    const third = await rawWorker(url, 'third');
    await waitFor('all three ready', () => pool.size === 3, 5000);
    await pool.publish(0, new Float32Array(liar.modelSize()));
    step = pool.runStep(0, [Int32Array.of(0)], { onResult: () => {} });
    await waitFor('both copies given', () => liar.tasks.length === 1 && honest.tasks.length === 1, 5000);
    liar.answer(liar.tasks[0] as RawTask, 1);
    liar.ws.terminate();
    await waitFor('the liar gone', () => lineOf(lines, /\(liar\) gone/) >= 0, 5000);
    // The two copies disagree: a third worker decides, against the liar.
    honest.answer(honest.tasks[0] as RawTask, 2);
    await waitFor('the third copy', () => third.tasks.length === 1, 5000);
    third.answer(third.tasks[0] as RawTask, 2);
    await step;
    const after = lines.slice(lineOf(lines, /\(liar\) gone/) + 1).filter((l) => /\(liar\)/.test(l));
    assert.equal(after.length, 1, lines.join('\n'));
    assert.match(after[0] as string, /^worker \S+ \(liar\), gone already, is refused for the rest of the run: verification mismatch on micro-batch 0 of step 1: /);
    assert.doesNotMatch(after[0] as string, /evicted/);
  } finally {
    await pool.close();
    await step?.catch(() => null);
  }
});
