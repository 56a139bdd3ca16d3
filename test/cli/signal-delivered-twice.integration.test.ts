// One stop signal delivered twice (timeout(1) or a supervisor signals the process and its process
// group; both arrive) is one stop: it quit at once with no checkpoint, as a second Ctrl-C does.
// The same signal again after REPEAT_IS_SAME_MS is a second Ctrl-C, and quits at once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { REPEAT_IS_SAME_MS, stopOnSignal } from '../../src/cli/output.js';

if (process.argv[2] === 'child') {
  const controller = new AbortController();
  stopOnSignal(controller);
  process.kill(process.pid, 'SIGINT');
  await delay(40);
  process.kill(process.pid, 'SIGINT');
  await delay(100);
  process.stdout.write(`after the repeat: aborted ${controller.signal.aborted}\n`);
  await delay(REPEAT_IS_SAME_MS);
  process.kill(process.pid, 'SIGINT');
  await delay(3000);
  process.stdout.write('after the second Ctrl-C: still running\n');
  process.exit(0);
} else {
  test('the same stop signal twice within REPEAT_IS_SAME_MS is one stop; once more after it quits at once (130)', () => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'child'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.stdout, 'after the repeat: aborted true\n', r.stderr);
    assert.equal(r.status, 130, r.stderr);
    assert.equal(r.stderr, '\nstopping at the next step (Ctrl-C again to quit at once)\n', 'said once');
  });
}
