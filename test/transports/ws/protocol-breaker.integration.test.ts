// A worker holding the token that breaks the protocol once it takes tasks (here: results whose loss
// the decoder refuses) was closed with 4400 and rejoined at once, at every step of the run: 4400 from
// a ready worker now counts against its standing as stalls and bad results do.
import assert from 'node:assert/strict';
import test from 'node:test';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { REPEAT_OFFENCES as MAX_STALLS, killAll, referenceSha, trainWithRepeatOffender, waitFor, wsConfig, type Spawned } from './helpers.js';

test('a worker that breaks the protocol after taking tasks rejoins only after a growing back-off and is refused for the run after cluster.maxStalls such evictions; the honest worker is never evicted and the run ends at the reference hash', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'breaker', {
    train: { epochs: 2 },
    // Long enough for it to come back inside its first back-off on a loaded machine (it reconnects 100 ms after a drop).
    cluster: { stallBackoffMs: 1000, maxStalls: MAX_STALLS },
  });
  const expected = await referenceSha(config);
  const { run, procs, lines, closes, evictions } = await trainWithRepeatOffender(config, dir, { mode: 'hugeloss', name: 'breaker', code: CLOSE.protocolError });
  const saw = (re: RegExp) => lines.some((l) => re.test(l));
  try {
    const r = await run;
    assert.equal(r.weightsSha256, expected);
    assert.equal(evictions(), MAX_STALLS, `the breaker was dropped for breaking the protocol ${evictions()} times in 20 steps:\n${lines.join('\n')}`);
    assert.ok(!closes.some((c) => c.name === 'honest'), `closed: ${JSON.stringify(closes)}`);
    assert.ok(saw(/^worker \S+ \(breaker\) gone \(4400 gradient\.lossSum must be a number of float32's range/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(breaker\) broke the protocol: protocol error 1 of 3: may rejoin in 1000 ms$/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(breaker\) broke the protocol: protocol error 2 of 3: may rejoin in 2000 ms$/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(breaker\) broke the protocol: refused for the rest of the run after 3 protocol errors$/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(breaker\) refused: broke the protocol 1 time\(s\): refused for another \d+ ms/), `back too early: refused\n${lines.join('\n')}`);
    const breaker = procs[1] as Spawned;
    await waitFor('the breaker to give up', () => breaker.child.exitCode !== null, 10_000);
    assert.match(breaker.output(), /refuses this worker for the rest of the run \(refused for the rest of the run: 3 protocol errors \(cluster\.maxStalls\)\)/);
  } finally {
    killAll(procs);
  }
});
