/**
 * Checkpoints: everything needed to continue a run so that it ends
 * bit-identical to one never interrupted. One file, written durably
 * (write, check, fsync, rename, fsync the folder): a crash or a full disk
 * leaves the previous checkpoint intact.
 *
 * Layout: "TRAINCK2", u32 LE header length, JSON header (space-padded to a
 * multiple of 4 bytes), float32 LE parameters and, when momentum is on, the
 * momentum buffer, then the sha256 of every byte before it: a flipped bit
 * anywhere, the epoch and step in the header included, is refused. Files of
 * format 1 ("TRAINCK1", the sha256 of the arrays in the header) still load.
 *
 * The random state is counter-based: the order of examples is a pure function
 * of (run.seed, epoch), so (seed, epoch, stepInEpoch) is the whole RNG state.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { DataIdentity } from '../data/dataset.js';
import { currentKind } from '../shared/backend-kind.js';
import { withoutSecrets, type Config } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { bytesOf, fsFaultText, writeFileAtomic } from '../shared/atomic-file.js';

const MAGIC = 'TRAINCK2';
const MAGIC_V1 = 'TRAINCK1';
const HASH_BYTES = 32;

/** Training progress at a step boundary. */
export interface Progress {
  /** Epoch in progress (0-based); equals train.epochs when the run is complete. */
  epoch: number;
  /** Steps already done in `epoch`. */
  stepInEpoch: number;
  /** Steps done since the start of the run. */
  globalStep: number;
  /** Sums over the steps done in `epoch` so far, in step order. */
  epochLossSum: number;
  epochCorrect: number;
  epochExamples: number;
  /** Training seconds in `epoch` so far, and for the whole run. */
  epochTrainSec: number;
  elapsedSec: number;
}

/**
 * The backend kinds (SelectedBackend.kind) that have computed a run: the whole run's so far, and
 * those of the epoch in progress (none at an epoch boundary). A resume on another kind then says
 * so, and the epoch's metrics list the kinds of its steps before the resume too.
 */
export interface BackendHistory {
  run: string[];
  epoch: string[];
}

export interface CheckpointState extends Progress {
  model: string;
  seed: number;
  params: Float32Array;
  momentum: Float32Array | null;
  config: Config;
  /** The images it trained on; absent in checkpoints written before it was stored. */
  data?: DataIdentity;
  /** The kinds that computed it; absent in checkpoints written before they were stored. */
  backends?: BackendHistory;
}

interface Header extends Progress {
  format: 1 | 2;
  model: string;
  seed: number;
  paramCount: number;
  hasMomentum: boolean;
  /** Format 1 only: sha256 of the arrays (format 2 hashes the whole file instead). */
  sha256?: string;
  config: Config;
  data?: DataIdentity;
  backends?: BackendHistory;
  savedAt: string;
}

/** Writes `file` (a run folder's checkpointFile) atomically. */
export async function saveCheckpoint(file: string, s: CheckpointState): Promise<void> {
  const arrays = s.momentum ? [bytesOf(s.params), bytesOf(s.momentum)] : [bytesOf(s.params)];
  const header: Header = {
    format: 2,
    model: s.model,
    seed: s.seed,
    paramCount: s.params.length,
    hasMomentum: s.momentum !== null,
    ...progressOf(s),
    config: withoutSecrets(s.config),
    ...(s.data ? { data: s.data } : {}),
    ...(s.backends ? { backends: s.backends } : {}),
    savedAt: new Date().toISOString(),
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - (Buffer.byteLength(json) % 4)) % 4);
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(Buffer.byteLength(json), 8);
  const parts = [head, Buffer.from(json), ...arrays];
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  await writeFileAtomic(file, [...parts, hash.digest()]);
}

export async function loadCheckpoint(file: string): Promise<CheckpointState> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    // Only a missing file is "no checkpoint": one there but unreadable (a folder in its place, a
    // permission, a failing disk) was said to be absent too, with a bare "(EIO)".
    const why = fsFaultText(err);
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TrainerError('E_CHECKPOINT', missing ? `no checkpoint to resume from: cannot read ${file}: ${why}` : `cannot read checkpoint ${file}: ${why}`);
  }
  // Said with what can be done: no run continues from it, and a new run of the name goes to NAME-2 beside it.
  const bad = (why: string) => new TrainerError('E_CHECKPOINT', `checkpoint ${file} is unusable: ${why} (damaged: restore it from a copy, or train the run again as a new run)`);
  const magic = buf.length >= 12 ? buf.toString('latin1', 0, 8) : '';
  if (magic !== MAGIC && magic !== MAGIC_V1) throw bad('not a trainer checkpoint');
  const trailer = magic === MAGIC ? HASH_BYTES : 0;
  const len = buf.readUInt32LE(8);
  if (12 + len + trailer > buf.length) throw bad('truncated header');
  let h: Header;
  try {
    h = JSON.parse(buf.toString('utf8', 12, 12 + len)) as Header;
  } catch {
    throw bad('corrupt header');
  }
  if (typeof h !== 'object' || h === null) throw bad('corrupt header');
  const start = 12 + len;
  const n = h.paramCount;
  if (!Number.isSafeInteger(n) || n < 0) throw bad('corrupt header');
  const end = start + n * 4 * (h.hasMomentum ? 2 : 1);
  if (buf.length !== end + trailer) throw bad(`size ${buf.length} bytes, expected ${end + trailer}`);
  // Format 2: the checksum covers every byte before it, the header included.
  const ok =
    magic === MAGIC
      ? createHash('sha256').update(buf.subarray(0, end)).digest().equals(buf.subarray(end))
      : createHash('sha256').update(buf.subarray(start)).digest('hex') === h.sha256;
  if (!ok) throw bad('checksum mismatch');
  // Copy into fresh, aligned arrays: the file buffer's offset need not be a multiple of 4.
  const params = new Float32Array(n);
  bytesOf(params).set(buf.subarray(start, start + n * 4));
  let momentum: Float32Array | null = null;
  if (h.hasMomentum) {
    momentum = new Float32Array(n);
    bytesOf(momentum).set(buf.subarray(start + n * 4, start + n * 8));
  }
  const backends = backendHistoryOf(h.backends);
  return { model: h.model, seed: h.seed, params, momentum, config: h.config, ...(h.data ? { data: h.data } : {}), ...(backends ? { backends } : {}), ...progressOf(h) };
}

/** Just the Progress fields of a larger object. */
export function progressOf(p: Progress): Progress {
  const { epoch, stepInEpoch, globalStep, epochLossSum, epochCorrect, epochExamples, epochTrainSec, elapsedSec } = p;
  return { epoch, stepInEpoch, globalStep, epochLossSum, epochCorrect, epochExamples, epochTrainSec, elapsedSec };
}

/** A header's backend history when it is one (lists of strings), else none: it only informs, so a malformed one is dropped. */
function backendHistoryOf(v: unknown): BackendHistory | undefined {
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((k) => typeof k === 'string');
  const b = v as Partial<BackendHistory> | null | undefined;
  return b && strings(b.run) && strings(b.epoch) ? { run: b.run.map(currentKind), epoch: b.epoch.map(currentKind) } : undefined;
}
