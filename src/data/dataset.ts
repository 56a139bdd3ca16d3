/**
 * The one entry point to data: find (or extract, download, or generate) the
 * CIFAR-10 batch files, read them through the one reader, then apply class
 * selection and limits. Everything above this file sees only `LoadedData`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { diskFault, fsFault, outOfRoom, removeOrphanTemps } from '../shared/atomic-file.js';
import { TrainerError, isTrainerError } from '../shared/errors.js';
import { makeDir } from '../shared/make-dir.js';
import { hideCredentials } from '../shared/url.js';
import {
  BATCHES_DIR,
  CIFAR10_CLASSES,
  IMAGE_BYTES,
  TEST_BATCH_FILE,
  TRAIN_BATCH_FILES,
  errorText,
  pickRecords,
  readCifarBatches,
} from './cifar-format.js';
import type { Dataset } from './cifar-format.js';
import type { DownloadProgress } from './download.js';
import { checkSyntheticOptions, writeSyntheticCifar } from './synthetic.js';

export interface DataOptions {
  source: 'cifar10' | 'synthetic';
  /** Folder holding cifar-10-binary.tar.gz or cifar-10-batches-bin/ (and synthetic sets). */
  path: string;
  /** cifar10 only: download the archive when neither the folder nor the archive is there. */
  download: boolean;
  /** The source is the run's own (eval, a resumed run): messages do not suggest another. */
  fixedSource?: boolean;
  /** Default the official archive URL. http:// and https://, redirects followed. */
  url?: string;
  /** Default the published md5 of the official archive. */
  md5?: string;
  /** null = all 10; else class names, relabelled 0..k-1 in the order given. */
  classes: string[] | null;
  /** Keep the first N training records after class selection; null = all. */
  limitTrain: number | null;
  /** Keep the first N validation records after class selection; null = all. */
  limitVal: number | null;
  /** Synthetic source: generated once into `${path}/synthetic-<seed>-<trainSize>-<valSize>/`. */
  synthetic: { trainSize: number; valSize: number; seed: number };
  /** Download progress, for the CLI's bar; total is null when the server does not say. */
  onProgress?: DownloadProgress;
  /** Stops a download in progress (E_DOWNLOAD, nothing kept). */
  signal?: AbortSignal;
}

export interface LoadedData {
  train: Dataset;
  val: Dataset;
  /** Names of the selected classes; label i is classNames[i]. */
  classNames: string[];
  /** Absolute path of the cifar-10-batches-bin/ folder the records were read from. */
  sourceDir: string;
}

/**
 * What a run trained on, stored in its checkpoints: a resume that reads other images (another
 * data.path, files replaced, other synthetic content) is refused instead of carrying on with
 * nonsense: mid-epoch it took the old set's step count into the new one.
 */
export interface DataIdentity {
  /** Training and validation images after class selection and limits. */
  train: number;
  val: number;
  /** sha256 of the training then validation images and labels (~0.12 s for all of CIFAR-10). */
  sha256: string;
}

/** Whether two identities are one set of images. */
export function sameData(a: DataIdentity, b: DataIdentity): boolean {
  return a.sha256 === b.sha256 && a.train === b.train && a.val === b.val;
}

/** An identity as messages show it. */
export function showData(d: DataIdentity): string {
  return `${d.train} training and ${d.val} validation images, sha256 ${d.sha256.slice(0, 12)}…`;
}

export function dataIdentity(d: LoadedData): DataIdentity {
  const hash = createHash('sha256');
  for (const set of [d.train, d.val]) hash.update(set.images.subarray(0, set.count * IMAGE_BYTES)).update(set.labels.subarray(0, set.count));
  return { train: d.train.count, val: d.val.count, sha256: hash.digest('hex') };
}

export async function loadDatasets(opts: DataOptions): Promise<LoadedData> {
  // Check everything the user typed before touching the network or the disk.
  const selection = selectClasses(opts.classes);
  checkLimit('data.limitTrain', opts.limitTrain);
  checkLimit('data.limitVal', opts.limitVal);
  const sourceDir = opts.source === 'synthetic' ? await ensureSynthetic(opts) : await ensureCifar10(opts);

  const train = await readCifarBatches(TRAIN_BATCH_FILES.map((f) => join(sourceDir, f)));
  const val = await readCifarBatches([join(sourceDir, TEST_BATCH_FILE)]);
  return {
    train: selectRecords(train, selection.remap, opts.limitTrain),
    val: selectRecords(val, selection.remap, opts.limitVal),
    classNames: selection.names,
    sourceDir,
  };
}

/** The synthetic set's folder name; a different seed or size is a different set. */
export function syntheticDirName(s: { trainSize: number; valSize: number; seed: number }): string {
  return `synthetic-${s.seed}-${s.trainSize}-${s.valSize}`;
}

async function ensureCifar10(opts: DataOptions): Promise<string> {
  // Loaded for CIFAR-10 only (tar with it): a synthetic run needs neither.
  const { CIFAR10_MD5, CIFAR10_TARBALL, CIFAR10_URL, downloadFile, extractCifarTarball } = await import('./download.js');
  const dir = resolve(opts.path);
  await removeStaleTemps(dir);
  const batches = join(dir, BATCHES_DIR);
  const tarball = join(dir, CIFAR10_TARBALL);
  // Outside in: a folder that cannot be looked into is named by the first look that fails.
  const found = { dir: await kindOf(dir), batches: await kindOf(batches), tarball: await kindOf(tarball) };
  if (found.batches === 'folder') {
    if (found.tarball === 'file') await checkBesideArchive(batches, tarball);
    return batches;
  }
  if (found.tarball === 'file') return extractCifarTarball(tarball, dir);
  // Something else in their place was "no CIFAR-10 data: put … there" (and a folder named like the
  // archive was downloaded over, failing only at the end with EISDIR).
  const expected: [path: string, kind: Kind | null, what: string, folder: boolean][] = [
    [dir, found.dir, 'a folder (holding the archive or the extracted batches)', true],
    [batches, found.batches, 'the folder of extracted batch files', true],
    [tarball, found.tarball, 'the archive file', false],
  ];
  const misplaced = expected.find(([, kind, , folder]) => kind !== null && (kind === 'folder') !== folder);
  if (misplaced) throw new TrainerError('E_DATA', `${misplaced[0]} is not ${misplaced[2]}`);
  await checkLooseBatches(dir, batches);
  const url = opts.url ?? CIFAR10_URL;
  if (!opts.download) {
    throw new TrainerError(
      'E_DATA',
      `no CIFAR-10 data in ${dir}${await pythonVersionNote(dir)}: put ${CIFAR10_TARBALL} (from ${hideCredentials(url)}) or ${BATCHES_DIR}/ there, ` +
        // A run's own data was there once: moved since (the run folder copied to another machine), --data.path finds it.
        `or pass --data.download true${opts.fixedSource ? ', or --data.path where the run\'s data is now' : ', or use --data.source synthetic'}`,
    );
  }
  // The folders a failed download removes again: those it makes, up to the first that was there.
  const made: string[] = [];
  for (let d = dir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) made.push(d);
  try {
    await makeDir(dir);
  } catch (err) {
    // As for the synthetic set's folder: no download has begun, and a rerun meets the same file system.
    throw new TrainerError(outOfRoom(err) ? 'E_IO' : 'E_DATA', `cannot create data folder ${dir}: ${fsFault(err) ?? errorText(err)}`, { cause: err });
  }
  try {
    await downloadFile(url, tarball, {
      md5: opts.md5 ?? CIFAR10_MD5,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    // A failed or stopped download writes nothing: not even the folders made for it (rmdir: only when empty).
    for (const d of made) await rmdir(d).catch(() => {});
    throw withoutDownload(err, tarball, opts.signal);
  }
  return extractCifarTarball(tarball, dir);
}

/**
 * A download the network or the server failed, with the way round it: on a machine without
 * internet access ("getaddrinfo ENOTFOUND www.cs.toronto.edu") or behind a proxy that answers 403,
 * the message named the URL and nothing to do. A stop or this machine's disk is left as it is.
 */
function withoutDownload(err: unknown, tarball: string, signal: AbortSignal | undefined): unknown {
  if (!isTrainerError(err, 'E_DOWNLOAD') || signal?.aborted || diskFault(err.cause) !== null) return err;
  return new TrainerError('E_DOWNLOAD', `${err.message} (without a download: put the archive, fetched another way, at ${tarball})`, { cause: err.cause });
}

/**
 * E_DATA when data.path holds the batch files themselves: given the extracted folder (the path
 * ending in cifar-10-batches-bin, as a user points at the data), it was "no CIFAR-10 data in
 * DIR: put cifar-10-batches-bin/ there" with the data in DIR, and with data.download the archive
 * was downloaded and extracted inside it.
 */
async function checkLooseBatches(dir: string, batches: string): Promise<void> {
  if ((await kindOf(join(dir, TRAIN_BATCH_FILES[0] as string))) !== 'file') return;
  throw new TrainerError(
    'E_DATA',
    basename(dir) === BATCHES_DIR
      ? `${dir} is the extracted folder itself: data.path is the folder holding it, --data.path ${dirname(dir)}`
      : `${dir} holds the batch files themselves: data.path is the folder holding them in ${BATCHES_DIR}/ (move them to ${batches})`,
  );
}

/**
 * E_DATA when cifar-10-batches-bin/ lacks batch files and the archive is beside it: the folder is
 * read first, and the error was "missing file …/data_batch_1.bin" with the archive that holds it
 * unnamed. Only hands make such a folder (an extraction puts a complete one in place at once), so
 * it is the user's to remove: named, never removed or overwritten here.
 */
async function checkBesideArchive(batches: string, tarball: string): Promise<void> {
  const missing: string[] = [];
  for (const file of [...TRAIN_BATCH_FILES, TEST_BATCH_FILE]) if ((await kindOf(join(batches, file))) === null) missing.push(file);
  if (missing.length === 0) return;
  throw new TrainerError(
    'E_DATA',
    `${batches} lacks ${missing.join(', ')}, and the archive ${tarball} is beside it: remove or move that folder, and the next run extracts the archive`,
  );
}

/** The Python version's folder or archive in `dir`, named: it is CIFAR-10, and taken for it. */
async function pythonVersionNote(dir: string): Promise<string> {
  for (const name of ['cifar-10-batches-py', 'cifar-10-python.tar.gz']) {
    if ((await kindOf(join(dir, name))) !== null) return ` (${name} there is CIFAR-10's Python version: trainer reads the binary version)`;
  }
  return '';
}

async function ensureSynthetic(opts: DataOptions): Promise<string> {
  checkSyntheticOptions(opts.synthetic);
  const root = resolve(opts.path);
  const dir = join(root, syntheticDirName(opts.synthetic));
  await removeStaleTemps(dir);
  const batches = join(dir, BATCHES_DIR);
  // Outside in, as for CIFAR-10: a set there but out of sight was generated again over it (E_INTERNAL).
  const rootKind = await kindOf(root);
  // A file there was "ENOTDIR: not a directory, stat '<root>/synthetic-…'", Node's words.
  if (rootKind !== null && rootKind !== 'folder') throw new TrainerError('E_DATA', `${root} is not a folder (data.path: where the synthetic data set is generated)`);
  await kindOf(dir);
  if ((await kindOf(batches)) === 'folder') return batches;
  try {
    await makeDir(dir);
  } catch (err) {
    throw new TrainerError(outOfRoom(err) ? 'E_IO' : 'E_DATA', `cannot create synthetic data folder ${dir}: ${fsFault(err) ?? errorText(err)}`, { cause: err });
  }
  return writeSyntheticCifar(dir, opts.synthetic);
}

interface Selection {
  names: string[];
  /** remap[oldLabel] = new label, or -1 to drop; null keeps every record as is. */
  remap: Int16Array | null;
}

function selectClasses(classes: string[] | null): Selection {
  if (classes === null) return { names: [...CIFAR10_CLASSES], remap: null };
  if (classes.length === 0) {
    throw new TrainerError('E_DATA', `data.classes is empty: name at least one of ${CIFAR10_CLASSES.join(', ')}, or null for all`);
  }
  const remap = new Int16Array(CIFAR10_CLASSES.length).fill(-1);
  classes.forEach((name, i) => {
    const old = CIFAR10_CLASSES.indexOf(name);
    if (old < 0) {
      throw new TrainerError('E_DATA', `unknown class '${name}' in data.classes; valid names: ${CIFAR10_CLASSES.join(', ')}`);
    }
    if (remap[old] !== -1) throw new TrainerError('E_DATA', `class '${name}' is listed twice in data.classes`);
    remap[old] = i;
  });
  return { names: [...classes], remap };
}

function checkLimit(key: string, limit: number | null): void {
  if (limit !== null && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new TrainerError('E_DATA', `${key} must be a non-negative integer or null, got ${String(limit)}`);
  }
}

/** The records whose class is selected, relabelled, in file order, at most `limit` of them. */
function selectRecords(d: Dataset, remap: Int16Array | null, limit: number | null): Dataset {
  const max = limit === null ? d.count : Math.min(limit, d.count);
  if (remap === null && max === d.count) return d;
  const indices = new Uint32Array(max);
  let n = 0;
  for (let i = 0; i < d.count && n < max; i++) {
    if (remap === null || (remap[d.labels[i] as number] as number) >= 0) indices[n++] = i;
  }
  return pickRecords(d, indices.subarray(0, n), remap === null ? undefined : (label) => remap[label] as number);
}

/** A download's, an extraction's or a synthetic set's temporary file or folder, as they name them; the group is the writer's process id. */
const TEMP_NAME = /^(?:\.cifar-10-batches-bin\.(?:extract|tmp)|cifar-10-binary\.tar\.gz\.download)-(\d+)-[0-9A-Za-z]{6,8}$/;
/** And untouched this long: a live download writes every second, and stalls out after 60 s. */
const STALE_TEMP_MS = 60 * 60_000;

/**
 * Removes the temporaries a killed process left in a data folder (a SIGKILLed download kept up to
 * 163 MB of partial archive per kill, for ever): those of processes not running here and untouched
 * for an hour, so that another process's download or extraction in progress, here or on another
 * host of a shared folder, is left alone.
 */
async function removeStaleTemps(dir: string): Promise<void> {
  await removeOrphanTemps(dir, { names: TEMP_NAME, untouchedMs: STALE_TEMP_MS });
}

type Kind = 'folder' | 'file' | 'other';

/**
 * What is at `p`, or null for nothing (nor a folder above it). One that cannot be looked at (a
 * folder of data.path this user may not read, on a shared mount) is E_DATA saying so: it was "no
 * CIFAR-10 data in DIR: put … there" with the data in DIR, or, downloading, E_INTERNAL.
 */
async function kindOf(p: string): Promise<Kind | null> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new TrainerError('E_DATA', `cannot look for ${basename(p)} in ${dirname(p)}: ${fsFault(err) ?? errorText(err)} (data.path and its folders must be readable)`, { cause: err });
  }
}
