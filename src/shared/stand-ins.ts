/**
 * Loading a CommonJS package without parts of it that trainer never uses: while it loads, those
 * files are stood in for by empty modules in the require cache, and dropped from it right after,
 * so whoever requires them later gets the real modules. Only for parts the package merely
 * re-exports (its own code never reads them): the bundle's name for them is then empty.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** `load()`'s result, with each file of `files` (absolute paths) that is not loaded yet stood in for while it runs. */
export function withStandIns<T>(files: readonly string[], load: () => T): T {
  const Module = requireHere('node:module') as { new (id: string): { filename: string; loaded: boolean; exports: object } };
  const cache = requireHere.cache;
  const stood = files.filter((f) => cache[f] === undefined);
  for (const f of stood) {
    const m = new Module(f);
    m.filename = f;
    m.loaded = true;
    m.exports = {};
    cache[f] = m as unknown as NodeJS.Module;
  }
  try {
    return load();
  } finally {
    for (const f of stood) delete cache[f];
  }
}
