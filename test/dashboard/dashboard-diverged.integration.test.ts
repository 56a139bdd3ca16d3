import assert from 'node:assert/strict';
import test from 'node:test';
import { smallConfigFile } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, waitFor } from '../transports/ws/helpers.js';

test('a run that diverges says so on its dashboard (status.json ended "diverged"), not "failed (see the trainer log)" as of a bug', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'div', 50);
  const port = await freePort();
  // lr 1e9 with momentum 0.9: the loss is no longer finite within a few steps.
  const train = spawnMain(['train', '--config', config, '--train.lr', '1e9', '--status-port', String(port)]);
  try {
    await waitFor('the dashboard line', () => train.output().includes(`dashboard on http://127.0.0.1:${port}/`));
    // Polled as the page polls it (the trainer serves until a polling page has been shown the end).
    const seen: unknown[] = [];
    while (train.child.exitCode === null) {
      const st = (await fetch(`http://127.0.0.1:${port}/status.json`).then((r) => r.json(), () => null)) as { ended: unknown } | null;
      if (st !== null) seen.push(st.ended);
      await new Promise((r) => setTimeout(r, 50));
      if (seen.length > 2400) break; // 2 minutes: a run that never ends fails below
    }
    assert.equal(await train.exited, 2, train.output());
    assert.match(train.output(), /error E_DIVERGED: /);
    assert.equal(seen.at(-1), 'diverged', `states seen: ${[...new Set(seen)].join(', ')}`);
  } finally {
    killAll([train]);
  }
});
