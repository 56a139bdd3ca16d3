/**
 * `mkdir -p` that always ends. Node's own (`mkdir(dir, { recursive: true })`, Node 20) retries for
 * ever where the file system refuses a folder with ENOENT although its parent exists (a run folder
 * under /proc, say): it spun a core and the run never started, nor stopped on SIGTERM. Here each
 * missing folder, from the top down, is made once, and the first refusal is thrown as it came.
 */
import { mkdir, readlink, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Makes `dir` and any missing parents; whether `dir` itself was made (false: it was there). */
export async function makeDir(dir: string): Promise<boolean> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; ) {
    const found = await stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (found !== null) {
      if (!found.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const d of [...missing].reverse()) {
    await mkdir(d).catch(async (err: NodeJS.ErrnoException) => {
      // Made meanwhile by someone else (several worker processes share a cache): fine if a folder.
      if (err.code === 'EEXIST' && (await stat(d).catch(() => null))?.isDirectory()) return;
      // A symbolic link to nothing: stat says missing, mkdir says there (it was a bare "EEXIST").
      const target = err.code === 'EEXIST' ? await readlink(d).catch(() => null) : null;
      if (target !== null) throw Object.assign(new Error(`a link to ${target}, which does not exist`), { path: d });
      throw err;
    });
  }
  return missing.length > 0;
}
