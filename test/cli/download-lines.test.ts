import assert from 'node:assert/strict';
import test from 'node:test';
import { downloadLines } from '../../src/cli/output.js';

function log() {
  const out: string[] = [];
  return { out, stream: { write: (s: string) => out.push(s) } };
}

test('where stderr is no terminal, a download is told in lines: as it starts, every so often, and when it is complete; a failed one leaves its error to say the rest, and --quiet says nothing', () => {
  let t = 0;
  const ok = log();
  const lines = downloadLines(false, 'http://h/x.tar.gz into /data', ok.stream, 30_000, () => t);
  assert.ok(lines);
  lines(65_536, 170_000_000);
  t = 10_000;
  lines(20_000_000, 170_000_000); // within 30 s of the last line: nothing
  t = 31_000;
  lines(60_000_000, 170_000_000);
  t = 95_500;
  lines(170_000_000, 170_000_000);
  lines(170_000_000, 170_000_000, true);
  assert.deepEqual(ok.out, [
    'downloading http://h/x.tar.gz into /data (170.0 MB)\n',
    'downloading: 60.0 of 170.0 MB\n',
    'downloaded 170.0 MB in 95.5 s\n',
  ]);

  // No Content-Length: no total to say.
  const unknown = log();
  const open = downloadLines(false, 'u into d', unknown.stream, 30_000, () => 0);
  open?.(1000, null);
  open?.(400_000, null, true);
  assert.deepEqual(unknown.out, ['downloading u into d\n', 'downloaded 0.4 MB in 0.0 s\n']);

  // Broke off: no "downloaded" line before the error.
  const cut = log();
  const broken = downloadLines(false, 'u into d', cut.stream, 30_000, () => 0);
  broken?.(500_000, 1_000_000);
  broken?.(500_000, 1_000_000, true);
  assert.deepEqual(cut.out, ['downloading u into d (1.0 MB)\n']);

  assert.equal(downloadLines(true, 'u into d', log().stream), undefined, '--quiet: no lines');
});
