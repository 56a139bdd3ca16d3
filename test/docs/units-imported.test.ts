import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

// npm test runs the *.test.js files only; a *.unit.js file runs where a test file imports it (each
// folder's units.test.ts). One that no test file imports is never run, and its test never fails.
const TESTS = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

test('every *.unit.js test file is imported by some *.test.js file, so npm test runs it', () => {
  const all = files(TESTS);
  const imported = new Set<string>();
  for (const f of all.filter((f) => f.endsWith('.test.js'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+\.unit\.js)'|import '(\.[^']+\.unit\.js)'/g)) {
      imported.add(join(dirname(f), (m[1] ?? m[2]) as string));
    }
  }
  const units = all.filter((f) => f.endsWith('.unit.js'));
  assert.ok(units.length > 50, `${units.length} unit files found under ${TESTS}`);
  const never = units.filter((f) => !imported.has(f)).map((f) => relative(TESTS, f));
  assert.deepEqual(never, [], `not imported by any test file (add each to its folder's units.test.ts): ${never.map((f) => basename(f)).join(', ')}`);
});
