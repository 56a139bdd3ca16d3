/**
 * The config a `trainer train` or `trainer coordinator` run trains with, in one
 * place for both commands.
 *
 * A new run: defaults, then the YAML file, then the command line's flags
 * (resolveConfig); when its folder already holds a run, the new one gets the
 * next free numbered folder (name-2, name-3, ...) and says so.
 *
 * A resumed run (`--resume`): the config stored in its checkpoint, then the
 * command line's flags. The YAML file is optional; when given it is checked as
 * a new run's is, locates the run (run.dir, run.name) like the flags do, and
 * gives the secrets the stored config lacks (secretsOf), but its other
 * settings do not replace the stored ones (a YAML file that says `epochs: 6`
 * must not cut a run started with `--train.epochs 10` short): each one that
 * differs is named, with the flag that would apply it. Flags may change what
 * keeps the run the same run (epochs, evaluation, checkpoints, backend,
 * cluster, where the data lives); a change to the model, the data or the
 * optimisation is an E_CHECKPOINT naming the key.
 */
import { isAbsolute, normalize, resolve, sep } from 'node:path';
import { loadCheckpoint } from './checkpoint.js';
import { atStep, divergedRun, lowerToConverge } from './diverged.js';
import { RunFolder } from './run-folder.js';
import { LOCK_LEASE_MS, LOCK_RENEW_MS, isLocal, lockOwner } from './run-lock.js';
import { readConfigFile, resolveConfig } from '../shared/config-file.js';
import { configSchema, DEFAULT_CONFIG, type Config } from '../shared/config.js';
import { isPlain, leafPaths, mergeConfig, valueAt } from '../shared/config-values.js';
import { HOME_PATH_KEYS, homePath, validateConfig } from '../shared/config-validate.js';
import { isTrainerError, TrainerError } from '../shared/errors.js';
import { hideCredentials } from '../shared/url.js';

export interface RunConfigOptions {
  /** `--config FILE`, if given. */
  file?: string;
  /** The command line's config settings (dotted flags and shorthands) as a nested object. */
  overrides: Record<string, unknown>;
  resume: boolean;
  /** Notes for people (stderr). */
  log: (line: string) => void;
}

/**
 * What a resumed run may not change: the run's identity (seed, data, model, optimisation). Where
 * the data is read or fetched from may change (data.path, data.download, data.url: a mirror, and
 * data.md5, the mirror's archive); the checkpoint's DataIdentity pins the images themselves (run.ts).
 */
export function identity(c: Config): unknown {
  const { path: _path, download: _download, url: _url, md5: _md5, ...data } = c.data;
  return { run: { seed: c.run.seed }, data, model: c.model, train: { ...c.train, epochs: undefined } };
}

/**
 * Config keys that name files: relative to the folder of the command that sets them. The path keys
 * but run.dir, which locates the run folder itself (RunFolder.of resolves it).
 */
const PATH_KEYS = HOME_PATH_KEYS.filter((k) => k !== 'run.dir');

/**
 * The config with its paths (PATH_KEYS) absolute, resolved against `base`. A run keeps them so
 * (claimRunFolder): `trainer eval --run ../a/runs/X` from another folder read, or generated, the
 * data under its own folder, and a resume from elsewhere did the same.
 */
export function absolutePaths<C>(config: C, base = process.cwd()): C {
  const out = structuredClone(config) as Record<string, unknown>;
  for (const key of PATH_KEYS) {
    const dot = key.lastIndexOf('.');
    const [parent, last] = [valueAt(out, key.slice(0, dot)), key.slice(dot + 1)];
    // Only text: validateConfig names anything else.
    if (isPlain(parent) && typeof parent[last] === 'string') parent[last] = resolve(base, parent[last]);
  }
  return out as C;
}

/**
 * The folder a run was started in, from where its folder is: a stored relative run.dir is
 * relative to it (run folders are run.dir/run.name). For runs kept before their paths were stored
 * absolute; null when the folder's place does not tell (an absolute run.dir, a folder moved alone).
 */
export function startFolder(folderDir: string, run: { dir?: unknown; name?: unknown }): string | null {
  if (typeof run.dir !== 'string' || typeof run.name !== 'string' || isAbsolute(run.dir)) return null;
  const tail = normalize(`${run.dir}${sep}${run.name}`).split(sep).filter((p) => p !== '' && p !== '.');
  if (tail.includes('..')) return null;
  const parts = resolve(folderDir).split(sep);
  const at = parts.length - tail.length;
  if (at < 1 || tail.some((p, i) => parts[at + i] !== p)) return null;
  return parts.slice(0, at).join(sep) || sep;
}

/** A stored config's paths, absolute: those of runs kept relative are resolved where the run started (else here). */
export function storedPaths<C>(stored: C, folderDir: string): C {
  const run = isPlain(stored) && isPlain(stored.run) ? stored.run : {};
  return absolutePaths(stored, startFolder(folderDir, run) ?? process.cwd());
}

/** The first key path where a and b differ, or null. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? null : path;
}

/** E_CHECKPOINT naming the first key a resumed run may not change. */
export function checkResumable(stored: Config, config: Config, runDir: string): void {
  const diff = firstDifference(identity(stored), identity(config));
  if (diff === null) return;
  const show = (c: Config) => JSON.stringify(valueAt(c, diff));
  throw new TrainerError(
    'E_CHECKPOINT',
    `cannot resume ${runDir}: ${diff} differs from the checkpoint's config (${show(config)}, the run has ${show(stored)}); ` +
      'a run keeps its data, model and optimisation: start a new run to change them',
  );
}

/** Whether setting `key` to `value` would change the run's identity, which a resume refuses (checkResumable). */
function identityKey(config: Config, key: string, value: unknown): boolean {
  const setting = key.split('.').reduceRight<unknown>((inner, k) => ({ [k]: inner }), value);
  return firstDifference(identity(config), identity(mergeConfig(structuredClone(config), setting) as Config)) !== null;
}

/**
 * Where the run is: run.dir and run.name from the flags, else the file, else the defaults. Only
 * the run section is checked here: the rest is checked against the stored run's (resolveRunConfig).
 */
function locateRun(fromFile: unknown, overrides: Record<string, unknown>): Config['run'] {
  const merged = mergeConfig(mergeConfig(structuredClone(DEFAULT_CONFIG), fromFile), overrides) as { run?: unknown };
  return validateConfig({ ...structuredClone(DEFAULT_CONFIG), run: merged.run }).run;
}

/**
 * E_CONFIG, as a new run with this file and these flags is told, for what the file gets wrong by
 * itself: an unknown key (with the nearest one), a type or range, a data.url or data.classes. A
 * resume took it all and named a mistyped key in a note with a flag that was refused. Not the
 * checks across keys (cluster.workers against train.microBatches): a resumed run combines the
 * stored config with the flags, not the file, and resolveRunConfig checks that.
 */
function checkFile(fromFile: unknown, overrides: Record<string, unknown>): void {
  const merged = mergeConfig(mergeConfig(structuredClone(DEFAULT_CONFIG), fromFile), overrides);
  if (!configSchema().safeParse(merged).success) validateConfig(merged);
  // The data section's own checks past the schema involve no other section.
  validateConfig({ ...structuredClone(DEFAULT_CONFIG), data: (merged as Config).data });
}

/**
 * How a command takes its run's folder: `new`, the next free name (name, name-2, ...); `resume`,
 * the run in run.dir/run.name from its checkpoint; `here` (`--auto-resume` where no checkpoint is),
 * a new run in run.dir/run.name itself, never another name, so that a scheduler restarting the
 * same command line (a Slurm requeue, a rescheduled pod) finds the run it started the first time.
 */
export type RunStart = 'new' | 'resume' | 'here';

export interface RunStartOptions {
  file?: string;
  overrides: Record<string, unknown>;
  resume: boolean;
  autoResume: boolean;
  log: (line: string) => void;
}

/** `--resume`, `--auto-resume` or neither, as a RunStart: `--auto-resume` resumes when run.dir/run.name has a checkpoint. */
export async function runStart(o: RunStartOptions): Promise<RunStart> {
  if (o.resume && o.autoResume) {
    throw new TrainerError('E_USAGE', '--resume and --auto-resume: give one of them (--auto-resume resumes when the run has a checkpoint, else starts it)');
  }
  if (!o.autoResume) return o.resume ? 'resume' : 'new';
  const folder = RunFolder.of({ run: locateRun(o.file === undefined ? {} : await readConfigFile(o.file), o.overrides) });
  if (await folder.hasCheckpoint()) {
    o.log(`${folder.dir} has a checkpoint: resuming it (--auto-resume)`);
    return 'resume';
  }
  return 'here';
}

/**
 * The config the run trains with (nothing on disk changes: a command checks its other flags
 * next, then takes the folder with claimRunFolder).
 */
export async function resolveRunConfig(o: RunConfigOptions): Promise<Config> {
  if (!o.resume) return resolveConfig(o.file, o.overrides);
  const fromFile = o.file === undefined ? {} : await readConfigFile(o.file);
  if (o.file !== undefined) checkFile(fromFile, o.overrides);
  const located = locateRun(fromFile, o.overrides);
  const folder = RunFolder.of({ run: located });
  if (!(await folder.hasCheckpoint())) {
    // In its first epoch, a run being trained has no checkpoint yet: "check --run.name" misled.
    const owner = await lockOwner(folder.lockFile);
    if (owner !== null) {
      throw new TrainerError('E_CHECKPOINT', `${folder.dir} is being trained by process ${owner.pid} on ${owner.host} and has no checkpoint yet: wait for it to end or stop it`);
    }
    // A finished run whose checkpoint was deleted: "start it again without --resume" went to NAME-2.
    if (await folder.hasModelFile()) {
      throw new TrainerError('E_CHECKPOINT', `${folder.dir} holds a finished model but no checkpoint: nothing to resume (to train on, a new run: another --run.name)`);
    }
    if (await folder.hasConfig()) {
      const diverged = await folder.readDiverged();
      if (diverged !== null) throw await divergedUnresumable(folder, diverged);
      const past = await folder.recordsPastCheckpoint();
      const what = past === null ? 'holds a run stopped before its first checkpoint' : `has no checkpoint and no model, though ${past}`;
      throw new TrainerError('E_CHECKPOINT', `${folder.dir} ${what}: nothing to resume; start it again without --resume (--auto-resume does either)`);
    }
    throw new TrainerError(
      'E_CHECKPOINT',
      `no checkpoint to resume from in ${folder.dir}: check --run.name and --run.dir, or start the run without --resume`,
    );
  }
  const stored = (await loadCheckpoint(folder.checkpointFile)).config;
  const base = storedPaths(mergeConfig(structuredClone(DEFAULT_CONFIG), stored), folder.dir);
  // Stored under the bounds of the version that wrote it: one added since (a task of at most 4,096
  // examples) may refuse it, and a flag may then change a key that is not the run's identity
  // (--eval.batchSize); the stored config alone refused every resume.
  let storedFault: string | null = null;
  try {
    validateConfig(base);
  } catch (err) {
    if (!isTrainerError(err, 'E_CONFIG')) throw err;
    storedFault = err.message;
  }
  // "raise train.microBatches", as a new run is told, is refused on resume (E_CHECKPOINT).
  const workers = valueAt(o.overrides, 'cluster.workers');
  const micro = valueAt(base, 'train.microBatches');
  if (typeof workers === 'number' && typeof micro === 'number' && workers > micro) {
    throw new TrainerError(
      'E_CONFIG',
      `${folder.dir} takes at most ${micro} workers, got ${workers}: its steps are ${micro} micro-batches (train.microBatches, fixed for the run)`,
    );
  }
  const merged = verifyOffOnThreads(mergeConfig(mergeConfig(base, { run: { dir: located.dir, name: located.name }, ...secretsOf(fromFile, base) }), o.overrides), base, o);
  let config: Config;
  try {
    config = validateConfig(merged);
  } catch (err) {
    if (!(isTrainerError(err, 'E_CONFIG') && err.message === storedFault)) throw err;
    throw new TrainerError('E_CONFIG', `${folder.dir} stores a config this version refuses: ${err.message} (a flag may change what is not the run's data, model or optimisation)`);
  }
  checkResumable(storedFault === null ? validateConfig(base) : (base as Config), config, folder.dir);
  if (o.file !== undefined) {
    for (const key of leafPaths(fromFile)) {
      // Taken from the file (locateRun, secretsOf); a flag given overrides it.
      if (key === 'run.dir' || key === 'run.name' || key === 'cluster.token' || valueAt(o.overrides, key) !== undefined) continue;
      const given = valueAt(fromFile, key);
      // A path in the file is relative to this folder (~ the home folder); the run keeps its paths absolute.
      const mine = (PATH_KEYS as readonly string[]).includes(key) && typeof given === 'string' ? resolve(homePath(key, given)) : given;
      const kept = valueAt(config, key);
      if (JSON.stringify(mine) !== JSON.stringify(kept)) {
        // Shown as in every message: data.url's user and password were printed, flag and all.
        const show = (v: unknown) => JSON.stringify(key === 'data.url' && typeof v === 'string' ? hideCredentials(v) : v);
        // The flag is named only where a resume takes it: for train.lr it was refused (E_CHECKPOINT).
        const how = identityKey(config, key, mine) ? 'a run keeps its data, model and optimisation: it cannot change on resume' : `--${key} ${show(mine)} changes it`;
        o.log(`note: ${o.file} sets ${key} ${show(mine)}; the resumed run keeps its own ${show(kept)} (${how})`);
      }
    }
  }
  return config;
}

/**
 * A run checked by cluster.verify (a coordinator's) going on in this process's threads
 * (`--resume --threads N`): nothing untrusted computes there, so the check is off, with a note, as it
 * is when such a run goes on in one process (train.ts). It was refused (E_CONFIG "there is nothing
 * untrusted to check"), though the note of a plain --resume names --threads N. A --cluster.verify
 * given is the user's, and is validated as given.
 */
function verifyOffOnThreads(merged: unknown, stored: unknown, o: Pick<RunConfigOptions, 'overrides' | 'log'>): unknown {
  const verify = valueAt(merged, 'cluster.verify');
  if (typeof verify !== 'number' || verify <= 0 || valueAt(merged, 'cluster.transport') !== 'threads' || valueAt(o.overrides, 'cluster.verify') !== undefined) return merged;
  // The coordinator's workers, not these threads: what its resume waits for.
  const workers = valueAt(stored, 'cluster.workers');
  o.log(`note: ${verifyOff(verify, typeof workers === 'number' ? workers : 2, "on this process's threads")}`);
  return mergeConfig(merged, { cluster: { verify: 0 } });
}

/**
 * What a resume in this process says of the cluster.verify it turns off (where: "here", "on this
 * process's threads"), and how the coordinator's resume, with `workers`, checks workers again.
 */
export function verifyOff(verify: number, workers: number, where: string): string {
  return `cluster.verify ${verify} is off ${where}, as nothing untrusted computes (\`trainer coordinator --resume --cluster.verify ${verify} --min-workers ${Math.max(2, workers)}\` checks workers again)`;
}

/**
 * E_CHECKPOINT for a run that diverged before its first checkpoint: "stopped before its first
 * checkpoint: start it again without --resume" hid why it stopped, and that it stops so again.
 */
async function divergedUnresumable(folder: RunFolder, message: string): Promise<TrainerError> {
  return new TrainerError(
    'E_CHECKPOINT',
    `${folder.dir} holds ${divergedRun(message)} before its first checkpoint: nothing to resume; ` +
      `start a new run without --resume, with a lower ${await storedLowerToConverge(folder)} (the same one diverges again)`,
  );
}

/** lowerToConverge for the run in `folder`, from its config.json (train.lr alone where it cannot be read). */
async function storedLowerToConverge(folder: RunFolder): Promise<string> {
  const decay = valueAt(await folder.readConfig().catch(() => null), 'train.weightDecay');
  return lowerToConverge({ weightDecay: typeof decay === 'number' ? decay : 0 });
}

/**
 * What a resumed run takes from its config file besides where the run is: the secrets its folder
 * does not keep (withoutSecrets), as a new run with the file has them. cluster.token, which is not
 * the run's identity: it was named in a note, never applied, and `trainer coordinator --resume
 * --host 0.0.0.0` with a file that sets it refused to start for want of a token. data.url's user
 * and password where the rest of the URL is the stored one: a resume that downloads needs them.
 */
function secretsOf(fromFile: unknown, stored: unknown): Record<string, unknown> {
  const token = valueAt(fromFile, 'cluster.token');
  const url = valueAt(fromFile, 'data.url');
  const storedUrl = valueAt(stored, 'data.url');
  return {
    ...(token !== undefined ? { cluster: { token } } : {}),
    ...(typeof url === 'string' && typeof storedUrl === 'string' && hideCredentials(url) === hideCredentials(storedUrl) ? { data: { url } } : {}),
  };
}

/**
 * Takes the run's folder for this process, for the rest of its life or until runTraining ends. A
 * new run whose folder holds a run (a checkpoint) or is being trained by another process (several
 * jobs of one config started together) goes to the next free numbered folder, and says so; a
 * resumed one, or one started in place, waits for, or names, the process that trains it now
 * (claimRun). Returns the run's config as the run folder keeps it: without cluster.token.
 */
export async function claimRunFolder(resolved: Config, start: RunStart, log: (line: string) => void): Promise<Config> {
  // The config the run keeps (config.json, the checkpoint): never the secret. The caller resolves
  // the token from its own config first (trainer train stored it in plain text).
  // Its paths absolute: eval, report and a resume read the same files from any folder.
  const config = absolutePaths({ ...resolved, cluster: { ...resolved.cluster, token: null } });
  if (start === 'here') {
    const folder = RunFolder.of(config);
    // No checkpoint (runStart looked): a model alone is a finished run nothing can continue.
    if (await folder.hasModelFile()) {
      throw new TrainerError(
        'E_CHECKPOINT',
        `${folder.dir} holds a finished model but no checkpoint: --auto-resume has nothing to continue and will not overwrite it; choose another --run.name`,
      );
    }
  }
  if (start !== 'new') {
    await claimRun(RunFolder.of(config), log);
    return config;
  }
  const name = await RunFolder.claimUnused(config);
  if (name === config.run.name) return config;
  const taken = RunFolder.of(config);
  const diverged = await taken.readDiverged();
  const why = (await taken.hasCheckpoint())
    ? diverged === null
      ? 'already holds a run (--resume continues it)'
      : await divergedResumable(taken, diverged)
    : (await taken.holdsRun())
      ? 'already holds a run'
      : `is being trained by another process (${taken.lockFile})`;
  log(`${taken.dir} ${why}; this new run goes to ${RunFolder.of({ run: { ...config.run, name } }).dir}`);
  return { ...config, run: { ...config.run, name } };
}

/**
 * Why a new run does not take the folder of a run that diverged after a checkpoint: "--resume
 * continues it" named a resume that diverges again at the same step (the same data, model and
 * optimisation), and a resume refuses a lower train.lr (checkResumable).
 */
async function divergedResumable(folder: RunFolder, message: string): Promise<string> {
  const at = atStep(message);
  return `already holds ${divergedRun(message)}: --resume diverges again${at === '' ? '' : ' there'}, ` +
    `as a resumed run keeps its optimisation (a lower ${await storedLowerToConverge(folder)} is a new run)`;
}

/**
 * Takes the run's folder for this process (run-lock.ts). With `waitFor`, a lock from another machine
 * is waited on until it lapses (LOCK_LEASE_MS unrenewed: its node or pod died; a rescheduled
 * coordinator resumes then) or is released; otherwise, or for a live process on this machine,
 * E_CHECKPOINT naming the process that trains the run now.
 */
export async function claimRun(folder: RunFolder, waitFor?: (line: string) => void): Promise<void> {
  const deadline = Date.now() + LOCK_LEASE_MS + LOCK_RENEW_MS;
  for (let noted = false; ; noted = true) {
    const owner = await folder.claim();
    if (owner === null) return;
    if (waitFor === undefined || isLocal(owner) || Date.now() > deadline) {
      throw new TrainerError(
        'E_CHECKPOINT',
        `${folder.dir} is being trained by process ${owner.pid} on ${owner.host}: wait for it to end or stop it ` +
          `(if no such run is in progress, remove ${folder.lockFile})`,
      );
    }
    if (!noted) {
      waitFor(
        `${folder.lockFile}: process ${owner.pid} on ${owner.host} trains this run (renewed ${Math.round(owner.ageMs / 1000)} s ago); ` +
          `waiting up to ${Math.round((deadline - Date.now()) / 1000)} s for it to end or its lock to lapse`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}


