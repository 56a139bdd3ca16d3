import assert from 'node:assert/strict';
import test from 'node:test';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

test('the report of a run stopped before its first epoch ended draws its loss per step ("nothing to plot", though steps.jsonl had it)', async () => {
  const dir = await tempDir();
  const html = renderReport(await readRun(await writeRun(dir, { name: 'early', epochs: 3, epochsDone: 0, stepsPerEpoch: 16, stepsAfter: 4 })));
  const line = /<svg id="chart-steps"[\s\S]*?<polyline class="line" data-series="loss-raw"[^>]* points="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.equal(line.split(' ').length, 4, 'one vertex per logged step');
  assert.match(html, /<p class="note" id="no-epochs">No epoch has finished yet: no per-epoch curves or table\.<\/p>/);
  assert.doesNotMatch(html, /id="chart-(loss|accuracy|speed)"|id="epochs"/);
  assert.equal(html.match(/<div class="charts">/g)?.length, 1);
  assert.equal(html.match(/<div/g)?.length, html.match(/<\/div>/g)?.length, 'every div is closed');

  const none = renderReport(await readRun(await writeRun(dir, { name: 'none', epochs: 3, epochsDone: 0, stepsPerEpoch: 16 })));
  assert.match(none, /id="no-epochs">No epoch has finished yet: nothing to plot\./);
  assert.doesNotMatch(none, /<h2>Curves<\/h2>|<svg/);
});
