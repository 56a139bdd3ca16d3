import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('when stderr is not a terminal, training prints plain lines only: one per epoch, no bar, no escapes', async () => {
  const dir = await tempDir();
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'plain', 2)]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /[\r\x1b]/);
  assert.doesNotMatch(r.stderr, /img\/s|ETA/);
  const epochs = r.stderr.split('\n').filter((l) => / Epoch \d+, Training loss /.test(l));
  assert.equal(epochs.length, 2, r.stderr);
  assert.equal(r.stdout, '');
});
