/**
 * The worker's dataset cache: blobs named by their sha256 under the user's
 * cache folder, so a worker that rejoins (or a second worker on the same
 * machine) proves it holds the data instead of fetching it again.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeOrphanTemps, writeFileAtomic } from '../../shared/atomic-file.js';
import { sha256Hex } from './wire-dataset.js';

/** $TRAINER_CACHE_DIR, else $XDG_CACHE_HOME/trainer, else ~/.cache/trainer. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRAINER_CACHE_DIR) return env.TRAINER_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'trainer');
  return join(homedir(), '.cache', 'trainer');
}

function blobPath(dir: string, sha256: string): string {
  return join(dir, 'datasets', `${sha256}.bin`);
}

/**
 * The cached blob if present and its content still hashes to its name; `corrupt`: the file there
 * does not (a flipped byte, a truncated copy), named so the worker says why it fetches the data
 * again (it did so silently), and the fetched copy replaces it.
 */
export type CachedBlob = { blob: Buffer } | { corrupt: string } | null;

export async function readCachedBlob(dir: string, sha256: string): Promise<CachedBlob> {
  const file = blobPath(dir, sha256);
  let b: Buffer;
  try {
    b = await readFile(file);
  } catch {
    return null;
  }
  return sha256Hex(b) === sha256 ? { blob: b } : { corrupt: file };
}

/** Temporaries of a cache write older than this are a killed worker's (a write of the largest set takes seconds). */
const STALE_TEMP_MS = 10 * 60_000;

export async function writeCachedBlob(dir: string, sha256: string, blob: Uint8Array): Promise<void> {
  // A worker killed mid-write left its temporary (25 MB of a 61 MB set, for ever).
  await removeOrphanTemps(dirname(blobPath(dir, sha256)), { untouchedMs: STALE_TEMP_MS });
  await writeFileAtomic(blobPath(dir, sha256), blob);
}
