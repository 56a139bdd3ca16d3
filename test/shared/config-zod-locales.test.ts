import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'node:test';

const CONFIG_JS = fileURLToPath(new URL('../../src/shared/config.js', import.meta.url));

test("config validation loads zod without its index of ~50 message locales (~55 ms of CPU at each start), and its messages stay zod's English ones", () => {
  const script = `
    import { createRequire } from 'node:module';
    const c = await import(${JSON.stringify(CONFIG_JS)});
    const z = c.zod();
    const req = createRequire(${JSON.stringify(CONFIG_JS)});
    const loaded = Object.keys(req.cache).filter((f) => /[\\\\/]zod[\\\\/]/.test(f));
    const r = z.object({ n: z.number() }).safeParse({ n: 'x' });
    // Whoever asks for them later gets the real locales.
    const index = loaded.find((f) => /classic[\\\\/]schemas\\.cjs$/.test(f)).replace(/classic[\\\\/]schemas\\.cjs$/, 'locales/index.cjs');
    const later = typeof req(index).en;
    console.log(JSON.stringify({ index: loaded.filter((f) => /locales[\\\\/]index\\.cjs$/.test(f)).length, en: loaded.some((f) => /locales[\\\\/]en\\.cjs$/.test(f)), message: r.error.issues[0].message, later }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  assert.deepEqual(out, { index: 0, en: true, message: 'Invalid input: expected number, received string', later: 'function' });
});
