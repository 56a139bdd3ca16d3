import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import { chromiumSkip, launchChromium } from '../browser.js';
import { renderComparison } from '../../src/report/compare.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun, type WrittenRun } from './written-run.js';

const skip = chromiumSkip("the report's");

interface Box {
  left: number;
  right: number;
}
interface Drawn {
  id: string;
  width: number;
  legend: { label: string; row: number; line: Box; text: Box }[];
  yTicks: { label: string; box: Box }[];
  yAxisLabel: Box;
}

/** Every chart's legend entries, y tick labels and rotated y axis label as the browser drew them, in the chart's px (plain JavaScript: no DOM types here). */
const PROBE = `(() => [...document.querySelectorAll('svg.chart')].map((svg) => {
  const frame = svg.getBoundingClientRect();
  const scale = frame.width / svg.viewBox.baseVal.width;
  const box = (el) => { const r = el.getBoundingClientRect(); return { left: (r.left - frame.left) / scale, right: (r.right - frame.left) / scale }; };
  return {
    id: svg.id,
    width: svg.viewBox.baseVal.width,
    legend: [...svg.querySelectorAll('text.legend')].map((t) => ({
      label: t.textContent, row: Number(t.previousElementSibling.getAttribute('y1')), line: box(t.previousElementSibling), text: box(t),
    })),
    yTicks: [...svg.querySelectorAll('text.ytick')].map((t) => ({ label: t.textContent, box: box(t) })),
    yAxisLabel: box(svg.querySelector('text.axis[transform]')),
  };
}))()`;

/** Nothing drawn over anything else or past the chart's edges. */
function assertClear(charts: Drawn[], page: string): void {
  assert.ok(charts.length >= 2, `${page}: charts drawn`);
  for (const c of charts) {
    const where = `${page}, ${c.id}`;
    for (const [i, e] of c.legend.entries()) {
      assert.ok(e.line.left >= 0 && e.text.right <= c.width, `${where}: "${e.label}" from ${e.line.left} to ${e.text.right} in a chart ${c.width} wide`);
      assert.ok(e.text.left >= e.line.right + 2, `${where}: "${e.label}" starts at ${e.text.left}, clear of its line (to ${e.line.right})`);
      const next = c.legend[i + 1];
      if (next && next.row === e.row) {
        assert.ok(e.text.right + 4 <= next.line.left, `${where}: "${e.label}" ends at ${e.text.right.toFixed(1)}, 4 px before the line of "${next.label}" at ${next.line.left.toFixed(1)}`);
      }
    }
    assert.ok(c.yTicks.length >= 3, `${where}: y ticks`);
    for (const t of c.yTicks) {
      assert.ok(t.box.left >= c.yAxisLabel.right + 2, `${where}: y tick "${t.label}" starts at ${t.box.left.toFixed(1)}, over the axis label (to ${c.yAxisLabel.right.toFixed(1)})`);
    }
  }
}

test('chart legends and y tick labels do not touch or overlap, as Chromium draws them (a legend entry "demo" touched the next one\'s line: its width was counted at 6.5 px a character)', { skip }, async () => {
  const dir = await tempDir();
  const run = async (r: WrittenRun) => readRun(await writeRun(dir, r));
  const pages: [string, string][] = [
    // The first hour's comparison (README step 6), and names of the widest letters.
    ['demo vs slow', renderComparison([await run({ name: 'demo', epochs: 3, stepsPerEpoch: 5 }), await run({ name: 'slow', epochs: 4, stepsPerEpoch: 5 })])],
    ['wide names', renderComparison([await run({ name: 'mmmm-wwww', epochs: 2, stepsPerEpoch: 5 }), await run({ name: 'MMWW mm@', epochs: 2, stepsPerEpoch: 5 }), await run({ name: 'www', epochs: 2, stepsPerEpoch: 5 })])],
    // Y tick labels of many digits beside the rotated axis label.
    ['large losses', renderReport(await run({ name: 'mmmmmmmm', epochs: 2, stepsPerEpoch: 5, loss: (step) => 10_000_000_000 + step * 50 }))],
  ];
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    for (const [name, html] of pages) {
      const file = join(dir, `${name.replaceAll(' ', '-')}.html`);
      await writeFile(file, html);
      await page.goto(pathToFileURL(file).href);
      assertClear((await page.evaluate(PROBE)) as Drawn[], name);
    }
  } finally {
    await browser.close();
  }
});
