import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { configKeys, configReference, currentReference } from '../../scripts/config-reference.js';
import { DEFAULT_CONFIG } from '../../src/shared/config.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

test("README's config reference is the one generated from the schema (regenerate: node dist/scripts/config-reference.js --write)", async () => {
  const readme = await readFile(README, 'utf8');
  const current = currentReference(readme);
  assert.ok(current !== null, 'README.md has the config-reference markers');
  assert.equal(current, configReference(), 'README.md config reference is out of date: run npm run build && node dist/scripts/config-reference.js --write');
  // Every leaf of the defaults is documented, and nothing else.
  const leaves: string[] = [];
  const walk = (v: unknown, p: string) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && p !== 'data.normalize') {
      for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    } else leaves.push(p);
  };
  walk(DEFAULT_CONFIG, '');
  assert.deepEqual(configKeys().map((k) => k.path).sort(), leaves.sort());
});
