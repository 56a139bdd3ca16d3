import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('when not a terminal: results on stdout (one line per epoch, the model), diagnostics on stderr, no bar, no escapes', async () => {
  const dir = await tempDir();
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'plain', 2)]);
  assert.equal(r.code, 0, r.stderr);
  for (const out of [r.stdout, r.stderr]) {
    assert.doesNotMatch(out, /[\r\x1b]/);
    assert.doesNotMatch(out, /img\/s|ETA/);
  }
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  assert.match(lines[0] ?? '', / Epoch 1, Training loss /);
  assert.match(lines[1] ?? '', / Epoch 2, Training loss /);
  assert.match(lines[2] ?? '', /^model saved to .*plain.model \(weights sha256 [0-9a-f]{64}\)$/);
  assert.doesNotMatch(r.stderr, /Epoch \d|model saved/);
  assert.match(r.stderr, /^backend: /m, 'diagnostics go to stderr');
});
