import assert from 'node:assert/strict';
import test from 'node:test';
import { downloadProgress } from '../../src/cli/output.js';

/** A terminal that keeps what is written. */
function terminal() {
  const out: string[] = [];
  const stream = { isTTY: true, write: (s: string) => out.push(s) > 0 } as unknown as NodeJS.WriteStream;
  return { out, stream };
}

test('the download bar ends its line however the download ends (an error or the next line was written onto it), and --quiet draws none', () => {
  // Broke off at half: the error goes on a line of its own.
  const cut = terminal();
  const bar = downloadProgress(false, cut.stream);
  assert.ok(bar);
  bar(500_000, 1_000_000);
  bar(500_000, 1_000_000, true);
  assert.equal(cut.out.join(''), `\rdownloading [${'#'.repeat(15)}${'.'.repeat(15)}] 0.5/1.0 MB`.repeat(2) + '\n');

  // No Content-Length: ended when the download ends.
  const unknown = terminal();
  const open = downloadProgress(false, unknown.stream);
  open?.(400_000, null);
  open?.(400_000, null, true);
  assert.ok(unknown.out.join('').endsWith('\rdownloading 0.4 MB\n'));

  // Complete: one newline, not two.
  const done = terminal();
  const full = downloadProgress(false, done.stream);
  full?.(1_000_000, 1_000_000);
  full?.(1_000_000, 1_000_000, true);
  assert.equal(done.out.join('').split('\n').length - 1, 1);

  assert.equal(downloadProgress(true, terminal().stream), undefined, '--quiet: no bar');
  assert.equal(downloadProgress(false, { isTTY: false } as NodeJS.WriteStream), undefined, 'not a terminal: no bar');
});
