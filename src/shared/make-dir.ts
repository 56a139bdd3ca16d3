/**
 * `mkdir -p` that always ends. Node's own (`mkdir(dir, { recursive: true })`, Node 20) retries for
 * ever where the file system refuses a folder with ENOENT although its parent exists (a run folder
 * under /proc, say): it spun a core and the run never started, nor stopped on SIGTERM. Here each
 * missing folder, from the top down, is made once, and the first refusal is thrown as it came.
 */
import { statSync } from 'node:fs';
import { mkdir, readlink, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * What keeps `path` from being a folder: `path` itself or the nearest path above it that is there,
 * when that is a file; null when it is a folder, or cannot be read (a write there says why).
 */
export function fileInTheWay(path: string): string | null {
  for (let d = resolve(path); ; d = dirname(d)) {
    try {
      return statSync(d).isDirectory() ? null : d;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(d) === d) return null;
    }
  }
}

/**
 * Makes `dir` and any missing parents; the folders it made, top down (none: `dir` was there). A
 * parent seen there and removed before its child was made (another run that failed before it began
 * takes back the folders it made) is made again, a few times at most.
 */
export async function makeDir(dir: string): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const made = await makeMissing(resolve(dir)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && attempt < 3) return null;
      throw err;
    });
    if (made !== null) return made;
  }
}

async function makeMissing(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; ; ) {
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
  const made: string[] = [];
  for (const d of missing.reverse()) {
    const mine = await mkdir(d).then(
      () => true,
      async (err: NodeJS.ErrnoException) => {
        // Made meanwhile by someone else (several worker processes share a cache): fine if a folder.
        if (err.code === 'EEXIST' && (await stat(d).catch(() => null))?.isDirectory()) return false;
        // A symbolic link to nothing: stat says missing, mkdir says there (it was a bare "EEXIST").
        const target = err.code === 'EEXIST' ? await readlink(d).catch(() => null) : null;
        if (target !== null) throw Object.assign(new Error(`a link to ${target}, which does not exist`), { path: d });
        throw err;
      },
    );
    if (mine) made.push(d);
  }
  return made;
}
