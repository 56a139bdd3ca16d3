// A stop that comes after the run's last step (in its last evaluation) said "stopping at the next
// step", and the run then finished, model saved, exit 0: it now says that the last step is done and
// that the run is finishing.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, waitFor } from '../transports/ws/helpers.js';

test('Ctrl-C in the last evaluation says the last step is done and the run finishes (model saved, exit 0)', async () => {
  const dir = await tempDir();
  const file = join(dir, 'c.yaml');
  // 5 steps, then an evaluation of 12,320 images: seconds, where the signal lands.
  await writeFile(
    file,
    [
      `run: {name: last, dir: ${JSON.stringify(join(dir, 'runs'))}, seed: 3}`,
      `data: {source: synthetic, path: ${JSON.stringify(join(dir, 'data'))}, synthetic: {trainSize: 320, valSize: 12000, seed: 1}}`,
      'train: {epochs: 1, batchSize: 64, microBatches: 4}',
      'eval: {batchSize: 500}',
      'backend: wasm',
      '',
    ].join('\n'),
  );
  const statusPort = await freePort();
  const train = spawnMain(['train', '--config', file, '--status-port', String(statusPort)]);
  try {
    await waitFor(
      'the last step done',
      async () => {
        const r = await fetch(`http://127.0.0.1:${statusPort}/status.json`).catch(() => null);
        const st = r ? ((await r.json().catch(() => null)) as { step: number } | null) : null;
        return st !== null && st.step === 5;
      },
      60_000,
    );
    train.child.kill('SIGINT');
    const code = await train.exited;
    const out = train.output();
    assert.equal(code, 0, out);
    assert.match(out, /the last step is done: finishing \(its last evaluation and the model are left\) \(Ctrl-C again to quit at once\)/);
    assert.doesNotMatch(out, /stopping at the next step/);
    assert.match(out, /model saved to /);
  } finally {
    killAll([train]);
  }
});
