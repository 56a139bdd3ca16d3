import assert from 'node:assert/strict';
import test from 'node:test';
import { Script } from 'node:vm';
import { DASHBOARD_PAGE } from '../../src/dashboard/page.js';

test('the dashboard page\'s script parses (a quote escaped for TypeScript, not for the page, broke it whole; the browser tests skip without chromium)', () => {
  const scripts = [...DASHBOARD_PAGE.matchAll(/<script>([^]*?)<\/script>/g)].map((m) => m[1] ?? '');
  assert.equal(scripts.length, 1);
  assert.doesNotThrow(() => new Script(scripts[0] ?? '', { filename: 'dashboard.js' }));
});
