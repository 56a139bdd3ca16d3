/**
 * The run folder, `<run.dir>/<run.name>/`: what the run is (config.json), what
 * it did (metrics.jsonl per epoch, steps.jsonl every log.everySteps steps,
 * workers.json), where it continues from
 * (checkpoint/state.ckpt) and what it made (model/, report.html). Its layout
 * is spelled here and nowhere else: the loop writes through it, and run,
 * report, eval and predict read through it.
 */
import { access, appendFile, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { withoutSecrets, type Config } from '../shared/config.js';
import { bytesOf, fsFaultText, ioError, removeOrphanTemps, writeFileAtomic } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
import { makeDir } from '../shared/make-dir.js';
import { plural } from '../shared/plural.js';
import { shellWord } from '../shared/shell.js';
import type { WorkerStats } from '../transports/pool.js';
import { loadCheckpoint, type CheckpointState } from './checkpoint.js';
import { atStep } from './diverged.js';
import { claimLock, confirmLock, lockOwner, releaseLock, type LockOwner } from './run-lock.js';

/** One line of metrics.jsonl: an epoch's results. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  trainLoss: number;
  /** Accuracy over the training steps of this epoch, as the weights moved. */
  runningAcc: number;
  trainAcc: number | null;
  valAcc: number | null;
  valLoss: number | null;
  imagesPerSec: number;
  elapsedSec: number;
  workers: number;
  /**
   * The backend kinds that have computed so far (SelectedBackend.kind). More
   * than one: parity with a one-backend run's weights hash does not hold.
   * Empty in lines written before it existed.
   */
  backends: string[];
}

/** One line of steps.jsonl: the steps since the previous line. */
export interface StepMetrics {
  /** Steps done since the start of the run (the line's last step, 1-based). */
  step: number;
  /** Epoch in progress (1-based). */
  epoch: number;
  /** Mean training loss of the steps since the previous line. */
  loss: number;
  /** Training images per second over those steps. */
  imagesPerSec: number;
  /** Learning rate of those steps. */
  lr: number;
  workers: number;
  /** Run seconds so far (training and evaluation, continued across a resume). */
  elapsedSec: number;
}

/** Faults of a run folder's path itself (a file on the way, a name too long, a loop of links): no retry makes the folder. */
const NO_FOLDER_THERE = new Set(['ENOTDIR', 'ENAMETOOLONG', 'ELOOP']);

export class RunFolder {
  readonly configFile: string;
  readonly metricsFile: string;
  readonly stepsFile: string;
  readonly workersFile: string;
  readonly checkpointFile: string;
  /** The exported layers model: model.json and weights.bin. */
  readonly modelDir: string;
  readonly reportFile: string;
  /** Present while a process trains the run (claim, release). */
  readonly lockFile: string;
  /** Written when the run stopped with E_DIVERGED, until it writes a model (markDiverged). */
  readonly divergedFile: string;

  constructor(readonly dir: string) {
    this.configFile = join(dir, 'config.json');
    this.metricsFile = join(dir, 'metrics.jsonl');
    this.stepsFile = join(dir, 'steps.jsonl');
    this.workersFile = join(dir, 'workers.json');
    this.checkpointFile = join(dir, 'checkpoint', 'state.ckpt');
    this.modelDir = join(dir, 'model');
    this.reportFile = join(dir, 'report.html');
    this.lockFile = join(dir, 'run.lock');
    this.divergedFile = join(dir, 'diverged.txt');
  }

  /** The folder of the run a config describes. */
  static of(config: Pick<Config, 'run'>): RunFolder {
    return new RunFolder(resolve(config.run.dir, config.run.name));
  }

  /**
   * A run name under `config.run.dir` whose folder holds no run (no checkpoint) and that no other
   * live process trains, claimed for this process: run.name itself when free, else run.name-2,
   * -3, ... so that a new run never overwrites one, nor shares a folder with one started at the
   * same moment (several jobs of one config, say).
   */
  static async claimUnused(config: Pick<Config, 'run'>): Promise<string> {
    const base = config.run.name;
    for (let n = 1; ; n++) {
      const name = n === 1 ? base : `${base}-${n}`;
      const folder = RunFolder.of({ run: { ...config.run, name } });
      if (!(await folder.holdsRun()) && (await folder.claim()) === null) return name;
    }
  }

  /** Takes the folder for this process (run-lock.ts): null once it holds it, else the live owner. */
  async claim(): Promise<LockOwner | null> {
    const made = await makeDir(this.dir).catch((err: unknown) => {
      // A path no folder can ever be made at: the same command meets it again (it was E_IO, exit 1,
      // which a scheduler retries). Permissions and read-only mounts stay E_IO: someone may fix them.
      if (NO_FOLDER_THERE.has((err as NodeJS.ErrnoException).code ?? '')) {
        throw new TrainerError('E_CONFIG', `run.dir: cannot make the run folder ${this.dir}: ${fsFaultText(err)}`, { cause: err });
      }
      throw ioError(this.dir, err);
    });
    return claimLock(this.lockFile, made);
  }

  /**
   * E_CHECKPOINT if this process claimed the folder and its lock is another's now (run-lock.ts,
   * confirmLock): called before the run's files are written to.
   */
  async confirmClaim(): Promise<void> {
    await confirmLock(this.lockFile);
  }

  /** Gives the folder up if this process holds it. */
  async release(): Promise<void> {
    await releaseLock(this.lockFile);
  }

  /**
   * E_MODEL for a run folder without its exported model: still training (its lock's process lives),
   * stopped before its end (saying how to finish it), or stopped before its first checkpoint; null
   * for anything else.
   */
  async unfinished(): Promise<TrainerError | null> {
    if (await this.hasModel()) return null;
    const owner = await lockOwner(this.lockFile);
    if (owner !== null) {
      return new TrainerError('E_MODEL', `${this.dir} has no model yet: process ${owner.pid} on ${owner.host} is still training it, and writes the model at its end`);
    }
    if (!(await this.hasCheckpoint())) {
      // A run folder (its config is there) of a run stopped in its first epoch: nothing to finish.
      if (!(await this.hasConfig())) return null;
      const past = await this.recordsPastCheckpoint();
      if (past !== null) return new TrainerError('E_MODEL', `${this.dir} has no checkpoint and no model, though ${past}: nothing to resume; train it again`);
      return new TrainerError('E_MODEL', `${this.dir} has no model: its run stopped before its first checkpoint, so there is nothing to resume; train it again`);
    }
    // A damaged checkpoint: "finish it with --resume" named a command that refuses it.
    const ck = await loadCheckpoint(this.checkpointFile).catch((err: unknown) => err as Error);
    if (ck instanceof Error) return new TrainerError('E_MODEL', `${this.dir} has no model, and ${ck.message}`);
    // A run that diverged (E_DIVERGED) diverges again on --resume, the one way out named: where its
    // checkpoint is at an epoch's end, ending the run there writes that checkpoint's model.
    const diverged = await exists(this.divergedFile);
    const atEpochEnd = diverged && ck.epoch >= 1 && ck.stepInEpoch === 0
      ? ` (it stopped with E_DIVERGED, and diverges again from there${this.endAtCheckpoint(ck, '; ')})`
      : '';
    // Its last checkpoint is the end's: the model was removed, or the process killed as it wrote it
    // (it said "the run stopped before its end", of a run that had trained every epoch).
    const epochs = ck.config?.train?.epochs;
    if (typeof epochs === 'number' && ck.epoch >= epochs && ck.stepInEpoch === 0) {
      return new TrainerError('E_MODEL', `${this.dir} finished its ${plural(epochs, 'epoch')} but has no model (removed, or not written to its end); ${this.resumeCommand()} writes it from the final checkpoint`);
    }
    return new TrainerError(
      'E_MODEL',
      `${this.dir} has no model yet: the run stopped before its end; finish it with ${this.resumeCommand()}${atEpochEnd}`,
    );
  }

  /**
   * Records that the run stopped with E_DIVERGED (`message`, the error's), so that eval and predict
   * of a run without a model name the way out that works (unfinished); removed once a model is
   * written (forgetDiverged) or a new run takes the folder (forgetEarlierRun). Without it, a run
   * stopped by Ctrl-C at an epoch's end was told the same.
   */
  async markDiverged(message: string): Promise<void> {
    await writeFileAtomic(this.divergedFile, Buffer.from(`${message}\n`));
  }

  /** diverged.txt's message (markDiverged); null when the run did not diverge, or wrote a model since. */
  async readDiverged(): Promise<string | null> {
    const text = await readFile(this.divergedFile, 'utf8').catch(() => null);
    return text === null ? null : text.trim();
  }

  async forgetDiverged(): Promise<void> {
    await rm(this.divergedFile, { force: true });
  }

  /**
   * A note when the exported model is not where the run is: a finished run resumed for more epochs
   * (--train.epochs) keeps its earlier model until its new end, and eval and predict used it
   * without a word. null when the model is the run's last word (or there is no checkpoint to tell):
   * `modelParams` (the model's weights) are the checkpoint's. A run ended with `--resume
   * --train.epochs` lowered to its checkpoint's epoch keeps the longer run's epochs in its checkpoint,
   * and its model, written from that very checkpoint, was called "the model of the run's earlier end".
   * `ck`: the run's checkpoint (readCheckpoint), which the caller reads once for this and more.
   */
  async modelBehind(modelParams: Float32Array, ck: CheckpointState | null): Promise<string | null> {
    if (!(await this.hasModel())) return null;
    const epochs = ck?.config?.train?.epochs;
    if (ck === null || typeof epochs !== 'number') return null;
    // diverged.txt beside a model: the run diverged after that model was written (writing one
    // removes it), so when resumed for more epochs. Its --resume diverges again: "finish it with
    // --resume" named the one command that cannot, and a model of the checkpoint itself got no word.
    const diverged = await this.readDiverged();
    const owner = await lockOwner(this.lockFile);
    const same = Buffer.compare(bytesOf(ck.params), bytesOf(modelParams)) === 0;
    if (diverged !== null && owner === null) {
      const how = `the run diverged${atStep(diverged)} (E_DIVERGED), and diverges again from`;
      if (same) return `note: ${this.modelDir} is the model of the run's end at epoch ${ck.epoch}: resumed for more epochs, ${how} there`;
      return `note: ${this.modelDir} is the model of the run's earlier end: resumed for ${plural(epochs, 'epoch')}, ${how} its checkpoint${this.endAtCheckpoint(ck, '; ')}`;
    }
    if (same) return null;
    const now = owner !== null
      ? `process ${owner.pid} on ${owner.host} is training it`
      : `finish it with ${this.resumeCommand()}`;
    if (ck.epoch >= epochs) {
      // Its final checkpoint is written, its model is not (killed or a full disk in between).
      return `note: ${this.modelDir} is the model of the run's earlier end: the run has trained its ${plural(epochs, 'epoch')} but did not write its model (${owner !== null ? now : `${this.resumeCommand()} writes it`})`;
    }
    return `note: ${this.modelDir} is the model of the run's earlier end: the run was resumed for ${epochs} epochs and its checkpoint is in epoch ${ck.epoch + 1}; it writes a new model at its end (${now})`;
  }

  /** The run's checkpoint; null when there is none or it cannot be read (`unusable` hears why; the commands that train refuse it). */
  async readCheckpoint(unusable: (err: unknown) => void = () => {}): Promise<CheckpointState | null> {
    if (!(await this.hasCheckpoint())) return null;
    return loadCheckpoint(this.checkpointFile).catch((err: unknown) => {
      unusable(err);
      return null;
    });
  }

  /**
   * `sep` and the command that ends a diverged run at its checkpoint and writes that model, where the
   * checkpoint is at an epoch's end; '' where it is not (there is no model to end it with).
   */
  private endAtCheckpoint(ck: CheckpointState, sep: string): string {
    if (ck.epoch < 1 || ck.stepInEpoch !== 0) return '';
    return `${sep}${this.resumeCommand()} --train.epochs ${ck.epoch} ends it at its checkpoint, epoch ${ck.epoch}, and writes that model`;
  }

  /**
   * The command that finishes this run, its folder quoted for a shell (a space in a path split it).
   * A folder given as `.` or `..` (`trainer eval .` inside it) is spelled out from the root: it gave
   * `--run.dir . --run.name .`, which train refuses (run.name is not . or ..).
   */
  private resumeCommand(): string {
    const dir = ['.', '..'].includes(basename(this.dir)) ? resolve(this.dir) : this.dir;
    return `trainer train --run.dir ${shellWord(dirname(dir))} --run.name ${shellWord(basename(dir))} --resume`;
  }

  /**
   * Whether the exported model is there (model.json and weights.bin; the export writes weights.bin
   * first). model.json alone (weights.bin deleted, or left out of a copy) was taken for a model:
   * --resume said "already finished (model in …)" and wrote nothing, and eval met ENOENT.
   */
  async hasModel(): Promise<boolean> {
    return (await this.hasModelFile()) && (await exists(join(this.modelDir, 'weights.bin')));
  }

  /**
   * Whether the exported model is whole and its weights are `params` (a final checkpoint's). An
   * extended run (--resume --train.epochs) killed between its final checkpoint and its export keeps
   * the model of its earlier end: --resume said "already finished" and eval used that model.
   */
  async modelHolds(params: Float32Array): Promise<boolean> {
    if (!(await this.hasModel())) return false;
    // Read as eval and predict read it (model.json's manifest checked), not as raw bytes; loaded here
    // only: export.ts brings tfjs, which the run folder's other readers (report, dashboard) do without.
    const { readExportedModel } = await import('./export.js');
    const model = await readExportedModel(this.modelDir).catch(() => null);
    return model !== null && Buffer.compare(bytesOf(model.params), bytesOf(params)) === 0;
  }

  /** Whether model.json is there, whole model or not: a folder with one is a run's, never a new run's. */
  async hasModelFile(): Promise<boolean> {
    return exists(join(this.modelDir, 'model.json'));
  }

  /**
   * Whether a run here can be continued or used: its checkpoint or its model. A new run never takes
   * such a folder (a finished run whose checkpoint was deleted to save space is still a run). One
   * killed before its first checkpoint left nothing to resume: a new run of its name starts it again
   * there (a coordinator pod rescheduled then, which starts without --resume, went to NAME-2, NAME-3,
   * ... at every restart, and never resumed).
   */
  async holdsRun(): Promise<boolean> {
    return (await this.hasCheckpoint()) || (await this.hasModelFile());
  }

  /**
   * For a folder without a checkpoint: what metrics.jsonl records of its run when that reaches a
   * checkpoint's epoch (checkpoint.every, or the last of train.epochs, from config.json), or null
   * when it stops before one (the run stopped before its first checkpoint, as far as its files
   * show). A finished run whose checkpoint and model were deleted was said to have "stopped before
   * its first checkpoint". Only what the files hold: a run killed between an epoch's metrics line
   * and its checkpoint looks the same as one whose checkpoint was deleted.
   */
  async recordsPastCheckpoint(): Promise<string | null> {
    const config = await this.readConfig().catch(() => null);
    const train = config?.train;
    const checkpoint = config?.checkpoint;
    const epochs = isObject(train) && typeof train.epochs === 'number' ? train.epochs : null;
    const every = isObject(checkpoint) && typeof checkpoint.every === 'number' ? checkpoint.every : 1;
    const recorded = Math.max(0, ...(await this.readMetrics()).map((m) => m.epoch));
    if (epochs !== null && recorded >= epochs) return `its metrics.jsonl records ${epochs === 1 ? 'the one epoch' : `all ${epochs} epochs`} of the run`;
    const of = epochs === null ? plural(recorded, 'epoch') : `${recorded} of its ${epochs} epochs`;
    if (recorded >= every) return `its metrics.jsonl records ${of}, and its first checkpoint was due after epoch ${every}`;
    return null;
  }

  /** Whether config.json is there: a run started here (it is written once the run can train). */
  async hasConfig(): Promise<boolean> {
    return exists(this.configFile);
  }

  async hasCheckpoint(): Promise<boolean> {
    return exists(this.checkpointFile);
  }

  /** The resolved config, stored with the run, without its secrets (withoutSecrets). */
  async writeConfig(config: Config): Promise<void> {
    await writeFileAtomic(this.configFile, Buffer.from(`${JSON.stringify(withoutSecrets(config), null, 2)}\n`));
  }

  /** config.json as stored; E_USAGE, saying why, when the folder holds none. */
  async readConfig(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.configFile, 'utf8');
    } catch (err) {
      throw new TrainerError('E_USAGE', `${this.dir} is not a run folder: ${await this.whyNoConfig(err)}`);
    }
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch (err) {
      throw new TrainerError('E_USAGE', `${this.configFile} is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(config)) throw new TrainerError('E_USAGE', `${this.configFile} is not a trainer config`);
    return config;
  }

  /** Why config.json could not be read (`err`), as a user who gave this folder needs it said. */
  private async whyNoConfig(err: unknown): Promise<string> {
    // A mistyped path is the usual case: said as such, not as a folder without its config.
    const folder = await stat(this.dir).then((s) => (s.isDirectory() ? null : 'a file, not a folder'), fsFaultText);
    if (folder !== null) return folder;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return `cannot read its config.json: ${fsFaultText(err)}`;
    // A run's model/ (given where its run was meant): which folder is wanted instead.
    if (await exists(join(this.dir, 'model.json'))) return 'it holds an exported model (model.json); give the run folder that holds it as model/';
    return 'no config.json in it';
  }

  /** One epoch's line, on the disk (fsync) before the checkpoint that follows it: a power loss kept the checkpoint and lost the line. */
  async appendMetrics(m: EpochMetrics): Promise<void> {
    try {
      const f = await open(this.metricsFile, 'a');
      try {
        await f.appendFile(`${JSON.stringify(m)}\n`);
        await f.sync();
      } finally {
        await f.close();
      }
    } catch (err) {
      throw ioError(this.metricsFile, err);
    }
  }

  /** Metric lines in epoch order, none when no epoch finished; a torn or foreign line is skipped. */
  async readMetrics(): Promise<EpochMetrics[]> {
    try {
      return parseMetrics(await readFile(this.metricsFile, 'utf8'));
    } catch {
      return [];
    }
  }

  /** After a resume: forgets the lines of epochs past `completedEpochs` (the checkpoint had not reached them). */
  async keepMetricsThrough(completedEpochs: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.metricsFile, 'utf8');
    } catch {
      return;
    }
    const kept = parseMetrics(text).filter((m) => m.epoch <= completedEpochs);
    await writeFileAtomic(this.metricsFile, Buffer.from(kept.map((m) => `${JSON.stringify(m)}\n`).join('')));
  }

  /** Puts `m` in place of the line of its epoch, in one atomic write (the rest as they were). */
  async replaceMetrics(m: EpochMetrics): Promise<void> {
    const lines = (await this.readMetrics()).map((old) => (old.epoch === m.epoch ? m : old));
    await writeFileAtomic(this.metricsFile, Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join('')));
  }

  /**
   * For a new run taking the folder of one that left no checkpoint and no model: removes that run's
   * files this run writes only later, or never (workers.json at its first epoch's end, report.html
   * on `trainer report`, diverged.txt). Kept until then, the report and eval read them as this run's:
   * the earlier run's workers, and "This run diverged".
   */
  async forgetEarlierRun(): Promise<void> {
    for (const f of [this.divergedFile, this.workersFile, this.reportFile]) {
      await rm(f, { force: true }).catch((err: unknown) => {
        throw ioError(f, err);
      });
    }
  }

  /** Removes the files a new run writes before its first step (config.json and its empty logs). */
  async forgetUnstarted(): Promise<void> {
    for (const f of [this.configFile, this.metricsFile, this.stepsFile, this.workersFile]) await rm(f, { force: true });
  }

  /** Temporary files of writes a killed process never finished (the run's own files only); returns their names. */
  async removeOrphanTemps(): Promise<string[]> {
    const dirs = [this.dir, dirname(this.checkpointFile), this.modelDir];
    return (await Promise.all(dirs.map((d) => removeOrphanTemps(d)))).flat();
  }

  async appendSteps(lines: readonly StepMetrics[]): Promise<void> {
    await appendFile(this.stepsFile, lines.map((m) => `${JSON.stringify(m)}\n`).join('')).catch((err: unknown) => {
      throw ioError(this.stepsFile, err);
    });
  }

  /** steps.jsonl's lines in step order; none for runs from before it existed. A torn or foreign line is skipped. */
  async readSteps(): Promise<StepMetrics[]> {
    try {
      return parseJsonLines(await readFile(this.stepsFile, 'utf8'), isStepMetrics).sort((a, b) => a.step - b.step);
    } catch {
      return [];
    }
  }

  /** After a resume: forgets the lines past `globalStep` (the checkpoint had not reached them). */
  async keepStepsThrough(globalStep: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.stepsFile, 'utf8');
    } catch {
      return;
    }
    const kept = parseJsonLines(text, isStepMetrics).filter((m) => m.step <= globalStep);
    await writeFileAtomic(this.stepsFile, Buffer.from(kept.map((m) => `${JSON.stringify(m)}\n`).join('')));
  }

  /** Per-worker share and speed, counted since the training process started. */
  async writeWorkers(stats: WorkerStats[]): Promise<void> {
    await writeFileAtomic(this.workersFile, Buffer.from(`${JSON.stringify(stats)}\n`));
  }

  /** workers.json's rows; none for runs from before it existed. */
  async readWorkers(): Promise<WorkerStats[]> {
    try {
      const w: unknown = JSON.parse(await readFile(this.workersFile, 'utf8'));
      return Array.isArray(w) ? w.filter(isWorkerStats).map((s) => ({ ...s, backend: s.backend ?? '?', threads: s.threads ?? 1 })) : [];
    } catch {
      return [];
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || num(v);

function isEpochMetrics(v: unknown): v is Omit<EpochMetrics, 'backends'> & { backends?: unknown } {
  return (
    isObject(v) &&
    num(v.epoch) &&
    num(v.step) &&
    num(v.trainLoss) &&
    num(v.runningAcc) &&
    numOrNull(v.trainAcc) &&
    numOrNull(v.valAcc) &&
    numOrNull(v.valLoss) &&
    num(v.imagesPerSec) &&
    num(v.elapsedSec) &&
    num(v.workers)
  );
}

function isStepMetrics(v: unknown): v is StepMetrics {
  return isObject(v) && num(v.step) && num(v.epoch) && num(v.loss) && num(v.imagesPerSec) && num(v.lr) && num(v.workers) && num(v.elapsedSec);
}

/** A workers.json row; rows written before `backend` existed read as backend '?', before `threads` as 1 thread. */
function isWorkerStats(v: unknown): v is Omit<WorkerStats, 'backend' | 'threads'> & { backend?: string; threads?: number } {
  return (
    isObject(v) &&
    typeof v.worker === 'string' &&
    num(v.microBatches) &&
    num(v.examples) &&
    num(v.computeMs) &&
    (v.backend === undefined || typeof v.backend === 'string') &&
    (v.threads === undefined || (Number.isInteger(v.threads) && (v.threads as number) >= 1))
  );
}

/** Metric lines in epoch order; a torn or foreign line (e.g. a crash mid-append) is skipped. */
export function parseMetrics(text: string): EpochMetrics[] {
  return parseJsonLines(text, isEpochMetrics)
    .map((v) => ({ ...v, backends: Array.isArray(v.backends) ? v.backends.filter((b): b is string => typeof b === 'string') : [] }))
    .sort((a, b) => a.epoch - b.epoch);
}

function parseJsonLines<T>(text: string, is: (v: unknown) => v is T): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    if (is(v)) out.push(v);
  }
  return out;
}

/** Whether `path` is there (any kind of file). */
export function exists(path: string): Promise<boolean> {
  // Only what is not there is false: a file that cannot be reached (a folder on its path without
  // permission, a loop of links) is there, and reading it says why. As absent, a checkpoint folder
  // of mode 000 made a stopped run "a finished model but no checkpoint: nothing to resume".
  return access(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== 'ENOENT' && err.code !== 'ENOTDIR',
  );
}
