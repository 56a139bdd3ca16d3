/**
 * `trainer report RUN` (or `--run RUN`): writes RUN/report.html from what the
 * run folder holds. `trainer report RUN_A RUN_B ...` writes one page that
 * overlays the runs (loss per step, accuracy per epoch) and lists how their
 * configs differ: comparing runs is what people open TensorBoard for.
 */
import { lstat, open, realpath, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { RunFolder } from '../coordinator/run-folder.js';
import { removeTempsInFlight, writeFileAtomic } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
import { fileInTheWay } from '../shared/make-dir.js';
import { renderComparison } from '../report/compare.js';
import { renderReport } from '../report/html.js';
import { readRun } from '../report/read-run.js';
import { COMPARISON_FILE, type ReportArgs } from './commands.js';

export async function reportCommand(a: ReportArgs): Promise<void> {
  // (yargs gives [undefined] for an absent variadic positional without a default)
  const dirs = [...(a.runs ?? []), ...(a.run ?? [])].filter((d): d is string => typeof d === 'string');
  if (dirs.length === 0) throw new TrainerError('E_USAGE', 'name a run folder: trainer report runs/NAME, or several to compare them (see trainer report --help)');
  const runs = await Promise.all(dirs.map((d) => readRun(d)));
  const [only] = runs;
  const file = await outFile(a.out, runs.length === 1 ? new RunFolder(dirs[0] as string).reportFile : COMPARISON_FILE);
  const html = runs.length === 1 && only ? renderReport(only) : renderComparison(runs);
  const target = await pageFile(file);
  await refuseOverwriting(target);
  // A signal mid-write leaves no temporary file beside --out (nothing else would remove it there).
  const stop = (signal: NodeJS.Signals) => {
    removeTempsInFlight();
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.once(s, stop);
  try {
    await writeFileAtomic(target, Buffer.from(html));
  } finally {
    for (const s of signals) process.off(s, stop);
  }
  if (!a.quiet) process.stdout.write(`${file}\n`);
}

/**
 * The page's path: `--out` as given, or the default page's name inside it when it names a folder
 * (as `cp` does; it was E_IO EISDIR), by an existing folder or a trailing slash.
 */
async function outFile(out: string | undefined, defaultFile: string): Promise<string> {
  if (out === undefined) return resolve(defaultFile);
  const folder = /[/\\]$/.test(out) || (await stat(out).then((st) => st.isDirectory(), () => false));
  return folder ? resolve(out, basename(defaultFile)) : resolve(out);
}

/**
 * Where `--out` writes: the file itself, or the file a symbolic link names (the link stays; the
 * atomic write renamed a new file over the link). Anything but a file is refused: a FIFO held the
 * command for ever (it opened it to read), and as root `--out /dev/stdout` replaced the device's link.
 */
async function pageFile(file: string): Promise<string> {
  const link = await lstat(file).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOTDIR') throw outUnderFile(file);
    return null;
  });
  if (link === null) return file; // a new file (or an unwritable folder: the write says why)
  // What the link leads to is asked before its path: `--out /dev/stdout | less` leads to a pipe,
  // which has no path (realpath fails), and it was called "a symbolic link to nothing".
  const st = await stat(file).catch(() => {
    throw new TrainerError('E_USAGE', `--out ${file} is a symbolic link to nothing: a report is written to a file (name one)`);
  });
  if (!st.isFile() && !st.isDirectory()) {
    const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
    throw new TrainerError('E_USAGE', `--out ${file} is ${what}, not a file: a report is written to a file (name one)`);
  }
  return link.isSymbolicLink() ? realpath(file) : file;
}

/**
 * `--out` under a file (`--out notes.txt/page.html`) is the argument's fault, as a --cache-dir
 * under one is: it was E_IO "a part of the path is a file" (exit 1, worth a retry), the file unnamed.
 */
function outUnderFile(file: string): TrainerError {
  const d = fileInTheWay(dirname(file)) ?? dirname(file);
  return new TrainerError('E_USAGE', `--out ${file} cannot be written: ${d} is a file, not a folder (name a page in a folder)`);
}

/**
 * A report replaces an HTML page, never another file: `--out runs/X/checkpoint/state.ckpt` (a
 * slip of the shell's completion) replaced the run's checkpoint without a word.
 */
async function refuseOverwriting(file: string): Promise<void> {
  let head: string;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(64);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.toString('utf8', 0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return; // nothing there (or unreadable: the write says why)
  }
  if (head.length > 0 && !/^\s*<(!doctype html|html)/i.test(head)) {
    throw new TrainerError('E_USAGE', `--out ${file} exists and is not an HTML page: a report does not replace it (name another file)`);
  }
}
