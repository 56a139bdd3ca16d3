/**
 * One process trains a run at a time: `<run folder>/run.lock`, created exclusively, names the
 * process (pid, host and, where Linux's /proc tells them, the boot id, the pid namespace and the process's start time)
 * and is renewed (its mtime touched) every LOCK_RENEW_MS while it trains. Another process takes a
 * lock over only when it is stale. On this machine that is whether its process is gone, never how
 * long since it renewed: a process stopped (Ctrl-Z, SIGSTOP), in a paused VM or with its event loop
 * blocked renews nothing, and trains on when it wakes, so a lease taken over by then made two
 * processes train one folder. The start time and boot id tell a pid reused since (by another
 * process, or after a reboot) from the lock's own process. From another machine, or another pid
 * namespace on this one (a container that shares the host's name, as with host networking), whose
 * processes cannot be asked, only the lease tells: not renewed for LOCK_LEASE_MS (a node that died, a pod
 * that was killed: a rescheduled one resumes once the lease lapses). A takeover happens under a
 * second exclusive file, so that two takers cannot both win. A holder checks that its lock is still
 * its own before it writes to the run (confirmLock): one paused past the lease, whose run another
 * machine took over meanwhile, stops there instead of training on beside it.
 */
import { readFileSync, readlinkSync, rmdirSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { fsFaultText, ioError, removeOrphanTemps, tempFileFor, tempNamesOf } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
import { procStat } from '../shared/processes.js';

/** Who holds a lock, and how long ago it was last renewed. */
export interface LockOwner {
  pid: number;
  host: string;
  ageMs: number;
  /** /proc/sys/kernel/random/boot_id of its machine when it was taken; absent where there is none, or in a lock of an older version. */
  bootId?: string;
  /** Its process's start, in clock ticks after boot (/proc/<pid>/stat field 22); absent as bootId is. */
  startTicks?: number;
  /** Its pid namespace (/proc/self/ns/pid's link, `pid:[4026531836]`): its pid names a process only there. Absent as bootId is. */
  pidNs?: string;
}

/** A lock not renewed for this long is stale, from any machine. */
export const LOCK_LEASE_MS = 60_000;
/** How often a holder renews its locks. */
export const LOCK_RENEW_MS = 15_000;
/** A takeover file older than this was left by a taker that died mid-takeover (which takes milliseconds); one of this machine, as soon as its process is gone. */
const TAKEOVER_STALE_MS = 10_000;
/** link()'s errors on a file system without hard links (FAT, some FUSE and SMB mounts). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * The locks this process holds: the text it wrote (the lock is its own while the file holds that
 * text) and the folders made to hold the lock, top down (removed with the lock, deepest first,
 * while still empty).
 */
const held = new Map<string, { text: string; madeDirs: readonly string[] }>();
let renewal: NodeJS.Timeout | null = null;
let exitHook = false;

/**
 * Takes lock `file` for this process. Returns null once this process holds it (again: a process
 * may claim what it holds), else its live owner. `madeDirs`: the folders made to hold the lock (top
 * down, as makeDir says), removed with it while nothing else was written there (a run that failed
 * before it began leaves no empty `runs/` behind).
 */
export async function claimLock(file: string, madeDirs: readonly string[] = []): Promise<LockOwner | null> {
  if (held.has(file)) return null;
  const me = `${JSON.stringify({ pid: process.pid, host: hostname(), ...self() })}\n`;
  const takeover = `${file}.takeover`;
  if (await createExclusive(file, me)) {
    // A taker killed after it removed the dead lock, before it made its own, left its file to nobody.
    await dropLeftTakeover(takeover);
    return hold(file, me, madeDirs);
  }
  const seen = await readOwner(file);
  if (seen === null) return claimLock(file, madeDirs); // released meanwhile
  if (!isStale(seen.owner)) return seen.owner;
  await dropLeftTakeover(takeover);
  if (!(await createExclusive(takeover, me))) return seen.owner;
  try {
    const now = await readOwner(file);
    if (now !== null && now.text !== seen.text) return now.owner;
    await unlink(file).catch(() => {});
    if (await createExclusive(file, me)) return hold(file, me, madeDirs);
    return (await readOwner(file))?.owner ?? seen.owner;
  } finally {
    await unlink(takeover).catch(() => {});
  }
}

/**
 * Removes a takeover file left by a taker killed mid-takeover: at once when it is of this machine and its
 * process is gone (a resume right after the kill was refused for 10 s, naming the dead process of the
 * lock), else once TAKEOVER_STALE_MS old.
 */
async function dropLeftTakeover(takeover: string): Promise<void> {
  const left = await readOwner(takeover).catch(() => null);
  if (left !== null && (left.owner.ageMs > TAKEOVER_STALE_MS || (isLocal(left.owner) && isStale(left.owner)))) {
    await unlink(takeover).catch(() => {});
  }
}

/** The live owner of lock `file`, without taking it; null when nobody holds it or its holder is gone. */
export async function lockOwner(file: string): Promise<LockOwner | null> {
  if (held.has(file)) return { pid: process.pid, host: hostname(), ageMs: 0 };
  const seen = await readOwner(file).catch(() => null); // unreadable: nobody this process can name
  return seen === null || isStale(seen.owner) ? null : seen.owner;
}

/**
 * E_CHECKPOINT unless lock `file`, which this process took, is still its own: called before the run
 * is written to. It is not once this process went a lease without renewing it (stopped, suspended,
 * blocked) and a process on another machine took the run over, or once it was removed by hand; this
 * process then stops, and its release leaves the lock to whoever holds it now. A lock this process
 * never took is not checked.
 */
export async function confirmLock(file: string): Promise<void> {
  const mine = held.get(file);
  if (mine === undefined) return;
  const now = await readOwner(file);
  if (now?.text === mine.text) return;
  if (now !== null && !isLocal(now.owner)) {
    throw new TrainerError(
      'E_CHECKPOINT',
      `${file} was taken over by process ${now.owner.pid} on ${now.owner.host}, which trains the run now: this process went more than ` +
        `${LOCK_LEASE_MS / 1000} s without renewing it (stopped, suspended or blocked), and a lock from another machine or container is taken over then; ` +
        'this process stops here and writes nothing more to the run',
    );
  }
  const who = now === null ? 'it was removed' : `process ${now.owner.pid} on ${now.owner.host} holds it now`;
  throw new TrainerError('E_CHECKPOINT', `${file} is no longer this process's: ${who}; this process stops here and writes nothing more to the run`);
}

/** Gives lock `file` up if this process holds it; a lock another process has taken over meanwhile stays its own. */
export async function releaseLock(file: string): Promise<void> {
  const mine = held.get(file);
  if (mine === undefined) return;
  held.delete(file);
  if (held.size === 0 && renewal !== null) {
    clearInterval(renewal);
    renewal = null;
  }
  if ((await readFile(file, 'utf8').catch(() => null)) === mine.text) await unlink(file).catch(() => {});
  // Kept unless empty, and so is each folder above it.
  for (const d of [...mine.madeDirs].reverse()) if (!(await rmdir(d).then(() => true, () => false))) break;
}

function hold(file: string, text: string, madeDirs: readonly string[]): null {
  held.set(file, { text, madeDirs });
  renewal ??= setInterval(() => {
    const now = new Date();
    for (const [f, mine] of held) {
      // Not another process's lock: its lease is its own to renew.
      void readFile(f, 'utf8')
        .then((t) => (t === mine.text ? utimes(f, now, now) : undefined))
        .catch(() => {});
    }
  }, LOCK_RENEW_MS).unref();
  if (!exitHook) {
    exitHook = true;
    // Whatever ends the process (an error, process.exit, a signal's exit): its locks go with it
    // (those still its own).
    process.on('exit', () => {
      for (const [f, mine] of held) {
        try {
          if (readFileSync(f, 'utf8') === mine.text) unlinkSync(f);
          for (const d of [...mine.madeDirs].reverse()) rmdirSync(d);
        } catch {
          // gone already, or the folder holds the run's files
        }
      }
    });
  }
  return null;
}

/**
 * Creates `file` holding `text` unless it exists; whether it did. The text is written beside it and
 * hard-linked into place, so that the lock appears whole: made empty by open('wx') and written after,
 * a process killed between the two left an empty lock that only the lease could tell from one being
 * written (a resume right after waited 60 s for "process 0 on ?"). A temporary left by a kill is
 * removed by the next process that creates the lock. Where the file system has no hard links, open('wx') it is.
 */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const tmp = tempFileFor(file);
  try {
    await writeFile(tmp, text);
    await link(tmp, file);
    // Those of processes killed here before (a finished run's resume removes no other temporaries).
    await removeOrphanTemps(dirname(file), { names: tempNamesOf(file) });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code ?? '')) throw ioError(file, err);
  } finally {
    await unlink(tmp).catch(() => {});
  }
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
    throw new TrainerError('E_CHECKPOINT', `cannot read the run's lock ${file}: ${fsFaultText(err)}; it is not trainer's, or another user's; remove it if no run is in progress`, { cause: err });
  };
  const [text, st] = await Promise.all([readFile(file, 'utf8').catch(gone), stat(file).catch(gone)]);
  if (text === null || st === null) return null;
  const ageMs = Math.max(0, Date.now() - st.mtimeMs);
  try {
    const v = JSON.parse(text) as { pid?: unknown; host?: unknown; bootId?: unknown; startTicks?: unknown; pidNs?: unknown };
    // A pid that is no process's (0, negative: a process group to kill()) is a lock only its age can tell.
    if (Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') {
      const owner: LockOwner = { pid: v.pid as number, host: v.host, ageMs };
      if (typeof v.bootId === 'string') owner.bootId = v.bootId;
      if (Number.isSafeInteger(v.startTicks)) owner.startTicks = v.startTicks as number;
      if (typeof v.pidNs === 'string') owner.pidNs = v.pidNs;
      return { text, owner };
    }
  } catch {
    // being written, or torn by a crash: only its age can tell
  }
  return { text, owner: { pid: 0, host: '?', ageMs } };
}

/**
 * Whether the lock's process is one this process can ask about: on this machine (its host name) and
 * in this pid namespace (where both are known). Containers with the host's network share its name.
 */
export function isLocal(owner: LockOwner): boolean {
  if (owner.host !== hostname() || owner.pid === 0) return false;
  const mine = self().pidNs;
  return owner.pidNs === undefined || mine === undefined || owner.pidNs === mine;
}

/**
 * From another machine or pid namespace (or not yet written: no host to tell), not renewed for a
 * lease. From this one, its process is gone: dead, a zombie, or its pid now another process's (another start time,
 * or another boot); or it is this process, which does not hold it. Where /proc is absent, a live pid
 * is taken for the lock's own process.
 */
function isStale(owner: LockOwner): boolean {
  if (!isLocal(owner)) return owner.ageMs > LOCK_LEASE_MS;
  const me = self();
  if (owner.bootId !== undefined && me.bootId !== undefined && owner.bootId !== me.bootId) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: another user's live process (that pid may still be a reused one: /proc tells below).
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const now = procStat(owner.pid);
  if (now === null) return false;
  // A killed process its parent has not reaped yet still answers kill(pid, 0).
  if (now.state === 'Z') return true;
  return owner.startTicks !== undefined && now.startTicks !== owner.startTicks;
}

let selfIdentity: Pick<LockOwner, 'bootId' | 'startTicks' | 'pidNs'> | undefined;

/** This process's boot id, start time and pid namespace, for its locks; empty where /proc has none of them. */
function self(): Pick<LockOwner, 'bootId' | 'startTicks' | 'pidNs'> {
  if (selfIdentity === undefined) {
    selfIdentity = {};
    const startTicks = procStat(process.pid)?.startTicks;
    if (startTicks !== undefined) {
      selfIdentity.startTicks = startTicks;
      try {
        selfIdentity.bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      } catch {
        // a start time alone still tells a reused pid, unless the machine rebooted since
      }
      try {
        selfIdentity.pidNs = readlinkSync('/proc/self/ns/pid');
      } catch {
        // no namespaces to tell apart
      }
    }
  }
  return selfIdentity;
}

