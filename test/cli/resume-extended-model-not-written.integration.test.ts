import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { modelSha, tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

// A run resumed for more epochs and SIGKILLed between its final checkpoint and its export keeps the
// model of its earlier end beside a checkpoint at its new end (found with strace -e inject=rename:
// signal=KILL on weights.bin's rename). --resume said "already finished its 2 epochs" and wrote
// nothing, and eval gave the 1-epoch model's accuracy without a word.
test('an extended run killed before writing its model: eval says the model is of its earlier end, --resume writes the final one', async () => {
  const dir = await tempDir();
  try {
    const config = await smallConfigFile(dir, 'ext', 1);
    assert.equal(trainer(['train', '-c', config, '--quiet']).code, 0);
    const run = join(dir, 'runs', 'ext');
    const earlier = join(dir, 'earlier-model');
    await cp(join(run, 'model'), earlier, { recursive: true });
    const extended = trainer(['train', '-c', config, '--resume', '--train.epochs', '2', '--quiet']);
    assert.equal(extended.code, 0, extended.stderr);
    const final = await modelSha(run);
    // What the kill leaves: the epoch-2 checkpoint, the epoch-1 model.
    await rm(join(run, 'model'), { recursive: true });
    await cp(earlier, join(run, 'model'), { recursive: true });

    const evalBefore = trainer(['eval', run]);
    assert.equal(evalBefore.code, 0, evalBefore.stderr);
    assert.match(evalBefore.stderr, /note: .*model is the model of the run's earlier end: the run has trained its 2 epochs but did not write its model \(trainer train .*--run\.name ext --resume writes it\)/);

    const resumed = trainer(['train', '-c', config, '--resume', '--train.epochs', '2']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /finished its 2 epochs but its model in .* is of an earlier end: writing it from the final checkpoint/);
    assert.doesNotMatch(resumed.stdout, /already finished|Epoch/);
    assert.equal(await modelSha(run), final, 'the model of the uninterrupted run');
    assert.doesNotMatch(trainer(['eval', run]).stderr, /note/);
    assert.match(trainer(['train', '-c', config, '--resume', '--train.epochs', '2']).stdout, /already finished its 2 epochs/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
