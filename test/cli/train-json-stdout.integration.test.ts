import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('--json keeps stdout pure JSON (one object per epoch, metrics.jsonl schema); the dashboard address and the model path go to stderr', async () => {
  const dir = await tempDir();
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'json', 2), '--json', '--status-port', '0']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '', 'stdout ends with a newline');
  assert.equal(lines.length, 2, r.stdout);
  const keys = ['epoch', 'step', 'trainLoss', 'runningAcc', 'trainAcc', 'valAcc', 'valLoss', 'imagesPerSec', 'elapsedSec', 'workers', 'backends'];
  lines.forEach((l, i) => {
    const m = JSON.parse(l) as Record<string, unknown>;
    assert.deepEqual(Object.keys(m).sort(), [...keys].sort());
    assert.equal(m.epoch, i + 1);
  });
  assert.match(r.stderr, /^dashboard on http:\/\/127\.0\.0\.1:\d+\/$/m);
  assert.match(r.stderr, /^model saved to .* \(weights sha256 [0-9a-f]{64}\)$/m);
});
