/**
 * One process trains a run at a time: `<run folder>/run.lock`, created exclusively, names the
 * process (pid, host) and is renewed (its mtime touched) every LOCK_RENEW_MS while it trains.
 * Another process takes a lock over only when it is stale: its process is gone from this machine
 * (killed), or, from any machine, it has not been renewed for LOCK_LEASE_MS (a node that died, a
 * pod that was killed: a rescheduled one resumes once the lease lapses). A takeover happens under
 * a second exclusive file, so that two takers cannot both win.
 */
import { readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { open, readFile, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ioError } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';

/** Who holds a lock, and how long ago it was last renewed. */
export interface LockOwner {
  pid: number;
  host: string;
  ageMs: number;
}

/** A lock not renewed for this long is stale, from any machine. */
export const LOCK_LEASE_MS = 60_000;
/** How often a holder renews its locks. */
export const LOCK_RENEW_MS = 15_000;
/** A takeover file older than this was left by a taker that died mid-takeover (which takes milliseconds). */
const TAKEOVER_STALE_MS = 10_000;

/** The locks this process holds, each with the folder it made to hold it (removed with the lock while still empty), or null. */
const held = new Map<string, string | null>();
let renewal: NodeJS.Timeout | null = null;
let exitHook = false;

/**
 * Takes lock `file` for this process. Returns null once this process holds it (again: a process
 * may claim what it holds), else its live owner. `madeDir`: the folder made to hold the lock, to be
 * removed with it if nothing else was written there (a run that failed before it began).
 */
export async function claimLock(file: string, madeDir: string | null = null): Promise<LockOwner | null> {
  if (held.has(file)) return null;
  const me = `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`;
  if (await createExclusive(file, me)) return hold(file, madeDir);
  const seen = await readOwner(file);
  if (seen === null) return claimLock(file, madeDir); // released meanwhile
  if (!isStale(seen.owner)) return seen.owner;
  const takeover = `${file}.takeover`;
  const leftover = await stat(takeover).catch(() => null);
  if (leftover !== null && Date.now() - leftover.mtimeMs > TAKEOVER_STALE_MS) await unlink(takeover).catch(() => {});
  if (!(await createExclusive(takeover, me))) return seen.owner;
  try {
    const now = await readOwner(file);
    if (now !== null && now.text !== seen.text) return now.owner;
    await unlink(file).catch(() => {});
    if (await createExclusive(file, me)) return hold(file, madeDir);
    return (await readOwner(file))?.owner ?? seen.owner;
  } finally {
    await unlink(takeover).catch(() => {});
  }
}

/** The live owner of lock `file`, without taking it; null when nobody holds it or its holder is gone. */
export async function lockOwner(file: string): Promise<LockOwner | null> {
  if (held.has(file)) return { pid: process.pid, host: hostname(), ageMs: 0 };
  const seen = await readOwner(file).catch(() => null); // unreadable: nobody this process can name
  return seen === null || isStale(seen.owner) ? null : seen.owner;
}

/** Gives lock `file` up if this process holds it. */
export async function releaseLock(file: string): Promise<void> {
  if (!held.has(file)) return;
  const madeDir = held.get(file) ?? null;
  held.delete(file);
  if (held.size === 0 && renewal !== null) {
    clearInterval(renewal);
    renewal = null;
  }
  await unlink(file).catch(() => {});
  if (madeDir !== null) await rmdir(madeDir).catch(() => {}); // kept unless empty
}

function hold(file: string, madeDir: string | null): null {
  held.set(file, madeDir);
  renewal ??= setInterval(() => {
    const now = new Date();
    for (const f of held.keys()) void utimes(f, now, now).catch(() => {});
  }, LOCK_RENEW_MS).unref();
  if (!exitHook) {
    exitHook = true;
    // Whatever ends the process (an error, process.exit, a signal's exit): its locks go with it.
    process.on('exit', () => {
      for (const [f, madeDir] of held) {
        try {
          unlinkSync(f);
          if (madeDir !== null) rmdirSync(madeDir);
        } catch {
          // gone already, or the folder holds the run's files
        }
      }
    });
  }
  return null;
}

/** Creates `file` holding `text` unless it exists; whether it did. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(file, err);
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * The lock's text and owner (pid 0, host '?' while its holder has not written it yet); null if there
 * is none. A lock that is there but cannot be read (another user's, a folder in its place) is E_CHECKPOINT:
 * read as "none", every claim would find it again and retry for ever.
 */
async function readOwner(file: string): Promise<{ text: string; owner: LockOwner } | null> {
  const gone = (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TrainerError('E_CHECKPOINT', `cannot read the run's lock ${file} (${code}): it is not trainer's, or another user's; remove it if no run is in progress`, { cause: err });
  };
  const [text, st] = await Promise.all([readFile(file, 'utf8').catch(gone), stat(file).catch(gone)]);
  if (text === null || st === null) return null;
  const ageMs = Math.max(0, Date.now() - st.mtimeMs);
  try {
    const v = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { text, owner: { pid: v.pid, host: v.host, ageMs } };
  } catch {
    // being written, or torn by a crash: only its age can tell
  }
  return { text, owner: { pid: 0, host: '?', ageMs } };
}

/** Not renewed for a lease, or its process is gone from this machine (or is this one, which does not hold it). */
function isStale(owner: LockOwner): boolean {
  if (owner.ageMs > LOCK_LEASE_MS) return true;
  if (owner.host !== hostname() || owner.pid === 0) return false;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return isZombie(owner.pid);
}

/** A killed process its parent has not reaped yet still answers kill(pid, 0); Linux's /proc says it is a zombie. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}
