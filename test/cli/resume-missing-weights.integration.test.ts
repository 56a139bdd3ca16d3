import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { modelSha, tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('a finished run whose weights.bin is gone (model.json left) is not taken as having a model: --resume writes it again, eval and predict say how', async () => {
  const dir = await tempDir();
  try {
    const config = await smallConfigFile(dir, 'half', 1);
    const first = trainer(['train', '-c', config, '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    const run = join(dir, 'runs', 'half');
    const sha = await modelSha(run);
    await rm(join(run, 'model', 'weights.bin'));
    const image = join(dir, 'grey.png');
    await writeFile(image, PNG.sync.write(Object.assign(new PNG({ width: 32, height: 32 }), { data: Buffer.alloc(32 * 32 * 4, 128) })));

    // Was "cannot read exported model in …/model: ENOENT: no such file or directory, open '…/weights.bin'".
    for (const args of [['eval', run], ['predict', '--run', run, image]]) {
      const r = trainer(args);
      assert.equal(r.code, 2, args[0]);
      assert.match(r.stderr, /^error E_MODEL: .* finished its 1 epoch but has no model \(removed, or not written to its end\); trainer train .*--run\.name half --resume writes it from the final checkpoint\n$/, args[0]);
    }
    // Was "already finished its 1 epoch (model in …/model)", exit 0, and weights.bin stayed missing.
    const resumed = trainer(['train', '--run.dir', join(dir, 'runs'), '--run.name', 'half', '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /finished its 1 epoch but has no model in .*: writing it from the final checkpoint/);
    assert.equal(await modelSha(run), sha, 'the same weights as at the end of the run');
    assert.equal(trainer(['eval', run, '--json']).code, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
