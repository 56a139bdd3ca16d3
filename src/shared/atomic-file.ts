/**
 * Durable file replacement: write a temporary file beside the target, checking
 * that every byte was written, fsync it, rename it over the target, fsync the
 * folder. A crash at any point leaves either the old file or the new one,
 * never a torn mix; a full disk, a quota or a file-size limit is E_IO naming
 * the file, and the old file stays as it was.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TrainerError, isTrainerError } from './errors.js';
import { makeDir } from './make-dir.js';
import { isRunning } from './processes.js';

/** The temporary files being written now: a command stopped by a signal removes them (removeTempsInFlight). */
const inFlight = new Set<string>();

/**
 * Removes the temporary files of the writes in progress, at once: for a command that exits on a
 * signal mid-write (`trainer report` left `.report.html.PID.HEX.tmp` beside its --out, which
 * nothing removes outside a run folder). Those writes then fail; the targets stay as they were.
 */
export function removeTempsInFlight(): void {
  for (const tmp of inFlight) rmSync(tmp, { force: true });
  inFlight.clear();
}

/** The temporary file a write of `file` goes through: beside it, hidden, named by this process and 8 random hex digits. */
export function tempFileFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The names of tempFileFor(file)'s files, any process's (removeOrphanTemps' `names`: the writer's id is its group). */
export function tempNamesOf(file: string): RegExp {
  return new RegExp(`^\\.${basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
}

export async function writeFileAtomic(file: string, chunks: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const dir = dirname(file);
  const tmp = tempFileFor(file);
  const parts = chunks instanceof Uint8Array ? [chunks] : chunks;
  try {
    await makeDir(dir);
    inFlight.add(tmp);
    const fh = await open(tmp, 'w');
    try {
      for (const part of parts) await writeAll(fh, part);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw ioError(file, err);
  } finally {
    inFlight.delete(tmp);
  }
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (err) {
    throw ioError(file, err);
  }
}

/**
 * A write may take fewer bytes than it was given (a file-size limit, a disk
 * filling up): the rest is written again, and that attempt reports the error.
 */
async function writeAll(fh: FileHandle, part: Uint8Array): Promise<void> {
  for (let at = 0; at < part.length; ) {
    const { bytesWritten } = await fh.write(part, at, part.length - at);
    if (bytesWritten <= 0) throw Object.assign(new Error('the file system took no bytes'), { code: 'EIO' });
    at += bytesWritten;
  }
}

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large (a file-size limit, ulimit -f, or the file system)',
  EROFS: 'a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** The other faults of a path, in words: messages said "EISDIR" or "ENOTDIR" alone. */
const PATH_WHY: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder, not a file',
  EEXIST: 'something of that name is there already',
  ELOOP: 'a loop of symbolic links',
  ENAMETOOLONG: 'a name too long for the file system',
  EMFILE: 'this process has too many files open (ulimit -n)',
  ENFILE: 'the system has too many files open',
  EBUSY: 'the file or device is busy',
  ETXTBSY: 'the file is a running program',
  EIO: 'the device failed to read or write (an input/output error)',
  ENODEV: 'no such device',
  ENXIO: 'no such device or address (a FIFO with no reader, a device gone)',
};

/** What went wrong with this machine's disk, in words (a full disk, a quota, a read-only mount); null for any other fault. */
export function diskFault(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && Object.hasOwn(WHY, code) ? `${WHY[code]} (${code})` : null;
}

/**
 * Whether the error is a disk out of room: full, a quota, a file-size limit. Such a write is E_IO
 * wherever it happens (the data's too, not only a checkpoint's): the room may be freed by the next try.
 */
export function outOfRoom(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
}

/** What a file operation's error says, in words with its code ('a folder, not a file (EISDIR)'); null for an error of no code this knows. */
export function fsFault(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && Object.hasOwn(PATH_WHY, code)) return `${PATH_WHY[code]} (${code})`;
  return diskFault(err);
}

/** fsFault's words, else the error's code, else the first line of its message. */
export function fsFaultText(err: unknown): string {
  return fsFault(err) ?? (err as NodeJS.ErrnoException | undefined)?.code ?? String((err as Error)?.message ?? err).split('\n')[0] ?? '';
}

/** E_IO for a file that could not be written, naming it and what the system said. */
export function ioError(file: string, err: unknown): TrainerError {
  if (isTrainerError(err)) return err;
  const why = fsFaultText(err);
  return new TrainerError('E_IO', `cannot write ${file}: ${why}`, { cause: err });
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temporaries of writes that never finished (a process killed
 * mid-write) from `dir`: those of processes no longer running, and any of this
 * process's id (a previous process that had the same id). Returns their names.
 * `names` says which are temporaries, its first group the writer's process id
 * (default: writeFileAtomic's; a download's or an extraction's are others, and
 * folders too). With `untouchedMs`, only those not written to for that long: a
 * folder other hosts write too (a cache in an NFS home, a shared data folder)
 * holds temporaries of ids not running here.
 */
export async function removeOrphanTemps(dir: string, o: { names?: RegExp; untouchedMs?: number } = {}): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = (o.names ?? TEMP_NAME).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isRunning(pid)) continue;
    if ((o.untouchedMs ?? 0) > 0) {
      const s = await stat(join(dir, name)).catch(() => null);
      if (s === null || Date.now() - s.mtimeMs < (o.untouchedMs ?? 0)) continue;
    }
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Bytes of a typed array's window (no copy). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
