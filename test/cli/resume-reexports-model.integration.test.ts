import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

const shaOf = (out: string) => /weights sha256 ([0-9a-f]{64})/.exec(out)?.[1];

test('--resume of a finished run whose model is gone (deleted, a full disk at the end) writes the same model again from the final checkpoint', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'lost');
  const first = trainer(['train', '-c', config]);
  assert.equal(first.code, 0, first.stderr);
  const sha = shaOf(first.stdout);
  assert.ok(sha);
  const run = join(dir, 'runs', 'lost');
  await rm(join(run, 'model'), { recursive: true });

  const evalBefore = trainer(['eval', run]);
  assert.equal(evalBefore.code, 2);
  assert.match(evalBefore.stderr, /finished its 2 epochs but has no model \(removed, or not written to its end\); trainer train .*--resume writes it from the final checkpoint/);

  // It said "already finished its 2 epochs (model in …)" with exit 0, and the model stayed missing.
  const resumed = trainer(['train', '--run.dir', join(dir, 'runs'), '--run.name', 'lost', '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /finished its 2 epochs but has no model in .*: writing it from the final checkpoint/);
  assert.doesNotMatch(resumed.stdout, /already finished|Epoch/);
  assert.equal(shaOf(resumed.stdout), sha, 'the same weights as at the end of the run');

  const evalAfter = trainer(['eval', run, '--json']);
  assert.equal(evalAfter.code, 0, evalAfter.stderr);
  // A run of an earlier version: its config.json lacks keys added since (it was E_CONFIG "… got nothing").
  const stored = JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as { cluster: Record<string, unknown> };
  delete stored.cluster.maxUnauthenticated;
  delete stored.cluster.maxStalls;
  await writeFile(join(run, 'config.json'), JSON.stringify(stored));
  const evalOlder = trainer(['eval', run, '--json']);
  assert.equal(evalOlder.code, 0, evalOlder.stderr);
  assert.equal(evalOlder.stdout, evalAfter.stdout);
  // With the model back, a second --resume has nothing left to do.
  assert.match(trainer(['train', '--run.dir', join(dir, 'runs'), '--run.name', 'lost', '--resume']).stdout, /already finished its 2 epochs/);
});
