/**
 * `trainer doctor [--train]`: what this machine can compute on. Each backend
 * is probed in a child process of its own (a process holds one tfjs backend,
 * and tfjs-node loads once per process); with --train, configs/demo.yaml
 * trains one epoch on each usable GPU backend and on wasm, and the table
 * gives images/s and the weights hash of each. Exits 0 with the table where
 * a backend is missing (a row says why), and 1 where one that loads cannot train or breaks parity;
 * a config or its data that no backend can train with is one error before any probe.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunFolder } from '../coordinator/run-folder.js';
import { resolveConfig } from '../shared/config-file.js';
import type { Config } from '../shared/config.js';
import { fsFaultText } from '../shared/atomic-file.js';
import { TrainerError, describeError, isTrainerError } from '../shared/errors.js';
import { selectBackend } from '../worker/backend.js';
import type { DoctorArgs } from './commands.js';

const MAIN_JS = fileURLToPath(new URL('./main.js', import.meta.url));
/** One training epoch's limit: the whole check must end within minutes on a GPU machine. */
const TRAIN_LIMIT_MS = 150_000;

interface Probe {
  ok: boolean;
  detail: string;
}

interface Candidate {
  backend: string;
  gpu: number | null;
  gpuBackend: boolean;
}

export interface TrainingRun {
  backend: string;
  gpu: number | null;
  /** A software adapter: trained on --software-limit images only. */
  software: boolean;
  /** Compute threads (--threads); absent: in-process. Its weights must be the in-process run's. */
  threads?: number;
}

/** One row of the table per (backend, --gpu) tried. */
const CANDIDATES: Candidate[] = [
  { backend: 'tensorflow-gpu', gpu: 0, gpuBackend: true },
  { backend: 'webgpu', gpu: 0, gpuBackend: true },
  { backend: 'webgpu', gpu: null, gpuBackend: false },
  { backend: 'tensorflow', gpu: null, gpuBackend: false },
  { backend: 'wasm', gpu: null, gpuBackend: false },
  { backend: 'cpu', gpu: null, gpuBackend: false },
];

/**
 * What `doctor --train` trains on: every usable GPU backend and wasm, and webgpu without --gpu
 * when it is a software adapter. A software adapter trains on --software-limit images wherever it
 * is listed: with TRAINER_WEBGPU_ADAPTER naming one, `webgpu --gpu 0` is it too, and trained on
 * all 10,000 images at tens a second it was "stopped after 150 s" (then it is trained once).
 * webgpu on a GPU trains once more on 2 compute threads, each with a device of its own: the
 * weights must be the in-process run's, and the process must exit 0 (on an H200 it crashed at
 * exit, SIGSEGV, once the model was saved; lavapipe never did, so only a GPU shows it).
 */
export function trainingRuns(probed: readonly (readonly [Candidate, Pick<Probe, 'ok' | 'detail'>])[]): TrainingRun[] {
  const runs: TrainingRun[] = [];
  for (const [c, p] of probed) {
    if (!p.ok) continue;
    const software = /\(software\)$/.test(p.detail);
    if (software && runs.some((r) => r.backend === c.backend && r.software)) continue;
    if (c.gpuBackend || c.backend === 'wasm' || (c.backend === 'webgpu' && software)) runs.push({ backend: c.backend, gpu: c.gpu, software });
    if (c.gpuBackend && c.backend === 'webgpu' && !software) runs.push({ backend: c.backend, gpu: c.gpu, software, threads: 2 });
  }
  return runs;
}

/**
 * The rows (trainOnce's, one per run of `runs`, in order), a threads run's note saying so where its
 * weights are not those of the in-process run of its backend and GPU. A failed row stays as it is.
 */
export function parityBroken(runs: readonly TrainingRun[], rows: readonly (readonly string[])[]): string[][] {
  return rows.map((row, i) => {
    const u = runs[i];
    if (u?.threads === undefined || !row[2]) return [...row];
    const alone = rows[runs.findIndex((r) => r.threads === undefined && r.backend === u.backend && r.gpu === u.gpu)];
    if (alone === undefined || !alone[2] || alone[2] === row[2]) return [...row];
    return [row[0] as string, row[1] as string, row[2], `parity broken: not the weights of ${alone[0]} in-process`];
  });
}

/**
 * A probe's detail as the table's cell (what is wrong) and the fix listed under it: split at the
 * first "; " outside parentheses (one inside them cut a row mid-sentence).
 */
export function whyAndFix(detail: string): [string, string | null] {
  let depth = 0;
  for (let i = 0; i < detail.length; i++) {
    const ch = detail[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && detail.startsWith('; ', i)) return [detail.slice(0, i), detail.slice(i + 2)];
  }
  return [detail, null];
}

/** configs/demo.yaml of this installation, wherever the command runs from (a relative default only worked in the repository). */
const DEMO_CONFIG = fileURLToPath(new URL('../../../configs/demo.yaml', import.meta.url));

export async function doctorCommand(a: DoctorArgs): Promise<void> {
  if (a.probe !== undefined) return probeHere(a.probe, a.gpu ?? null);
  // Checked before the probes and the epochs: it was a row's E_CONFIG (data.limitTrain) after all of them.
  if (!Number.isInteger(a.softwareLimit) || a.softwareLimit < 1) {
    throw new TrainerError('E_USAGE', `--software-limit must be a positive integer (images), got ${JSON.stringify(a.softwareLimit)}`);
  }
  // --config is what --train runs: alone it was taken and ignored.
  if (a.config !== undefined && !a.train) throw new TrainerError('E_USAGE', '--config names the config --train runs: add --train (see trainer doctor --help)');
  if (a.train) {
    // Checked before the probes (half a minute): it used to fail only in the table, row by row, with exit 0.
    try {
      readFileSync(a.config ?? DEMO_CONFIG);
    } catch (err) {
      throw new TrainerError('E_USAGE', `--config ${a.config ?? DEMO_CONFIG}: cannot read it: ${fsFaultText(err)}`);
    }
    // A config no backend can train is one E_CONFIG line now, not one per row after the probes.
    await checkData(await resolveConfig(a.config ?? DEMO_CONFIG, {}), a.config ?? DEMO_CONFIG);
  }
  const probes = CANDIDATES.map((c) => probeInChild(c.backend, c.gpu));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`node ${process.version}, ${process.platform}-${process.arch}`);
  out(`CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? '(unset)'}  NVIDIA_DRIVER_CAPABILITIES=${process.env.NVIDIA_DRIVER_CAPABILITIES ?? '(unset)'}`);
  out(`nvidia-smi: ${command('nvidia-smi', ['-L']) ?? 'not found'}`);
  out(`Vulkan drivers (ICD files): ${vulkanIcds().join(', ') || 'none found'}`);
  out(`WebGPU adapters Dawn sees: ${await dawnAdapters()}`);
  out();

  const rows: string[][] = [];
  const fixes = new Set<string>();
  const probed: [Candidate, Probe][] = [];
  for (const [i, c] of CANDIDATES.entries()) {
    const p = await (probes[i] as Promise<Probe>);
    probed.push([c, p]);
    const [why, fix] = whyAndFix(p.detail);
    rows.push([c.gpu === null ? c.backend : `${c.backend} --gpu ${c.gpu}`, p.ok ? 'yes' : 'no', why]);
    if (!p.ok && fix !== null) fixes.add(fix);
  }
  const usable = trainingRuns(probed);
  out(table(['backend', 'usable', 'detail'], rows));
  if (fixes.size > 0) out(`\nWhat the missing ones need:\n${[...fixes].map((f) => `- ${f}`).join('\n')}`);

  if (!a.train) {
    out('\n(trainer doctor --train also trains one epoch on each usable GPU backend and on wasm)');
    return;
  }
  out(`\nOne epoch of ${a.config ?? DEMO_CONFIG} on each:`);
  // A TMPDIR that is gone or read-only (a batch job's, a container's) was E_INTERNAL, a bug of ours.
  const dir = await mkdtemp(join(tmpdir(), 'trainer-doctor-')).catch((err: unknown) => {
    throw new TrainerError('E_IO', `cannot make a folder for the training runs in ${tmpdir()} (TMPDIR, else /tmp): ${fsFaultText(err)}`, { cause: err });
  });
  const trained: string[][] = [];
  // A stop (Ctrl-C, SIGTERM, SIGHUP) ends the training child and removes the folder: doctor waited
  // in spawnSync, the signal killed it alone, and the child trained on in a folder left behind.
  const run: { child: ChildProcess | null; stopped: NodeJS.Signals | null } = { child: null, stopped: null };
  const onSignal = (signal: NodeJS.Signals) => {
    run.stopped ??= signal;
    run.child?.kill('SIGKILL');
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  try {
    for (const u of usable) {
      if (run.stopped !== null) break;
      trained.push(await trainOnce(a, u, dir, (child) => (run.child = child)));
    }
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await rm(dir, { recursive: true, force: true });
  }
  if (run.stopped !== null) {
    process.stderr.write(`doctor: stopped (${run.stopped}); its training runs removed\n`);
    process.exitCode = 128 + (osConstants.signals[run.stopped] ?? 2);
    return;
  }
  const checked = parityBroken(usable, trained);
  out(table(['backend', 'images/s', 'weights sha256', 'note'], checked));
  // The rows quote trainer train, whose advice for missing data is its flags: doctor refuses them.
  if (trained.some((row) => /^error E_(DATA|DOWNLOAD):/.test(row[3] ?? ''))) out(`\n(${dataKeys(a.config ?? DEMO_CONFIG)})`);
  // A backend that loads but cannot train is a failure a script must see.
  if (trained.some((row) => row[1] === '') || checked.some((row) => (row[3] ?? '').startsWith('parity broken'))) process.exitCode = 1;
}

/** What to change where a training run's data fails: train's message names its flags, which doctor refuses. */
function dataKeys(file: string): string {
  return `doctor takes no config keys: set data.path, data.download: true or data.source: synthetic in ${file}, or try them on trainer train first`;
}

/**
 * E_DATA, said once before the probes, where `config` (from `file`) reads CIFAR-10 data that is not
 * there or cannot be read: every training row failed with it, after the probes, each quoting train's
 * flags. Data the config downloads is fetched here, once (each row tried the download, and failed
 * alike with no network: E_DOWNLOAD, said once now); synthetic data is made by each run.
 */
async function checkData(config: Config, file: string): Promise<void> {
  if (config.data.source !== 'cifar10') return;
  // Imported here only: the run's modules (pools, model, export) are of no use to each probe's process, which loads this file too.
  const { loadRunData } = await import('../coordinator/run.js');
  let told = false;
  const onProgress = (_received: number, _total: number | null, ended?: boolean) => {
    if (told || ended) return;
    told = true;
    process.stderr.write(`doctor: downloading the data of ${file} once, into ${config.data.path}, before the training runs\n`);
  };
  try {
    await loadRunData(config, { onProgress });
  } catch (err) {
    if (isTrainerError(err, 'E_DATA')) throw new TrainerError('E_DATA', `${err.message} (${dataKeys(file)})`, { cause: err });
    throw err;
  }
}

/** The backend in this process: one JSON line {ok, detail}. */
async function probeHere(backend: string, gpu: number | null): Promise<void> {
  let r: Probe;
  try {
    const b = await selectBackend(backend as Parameters<typeof selectBackend>[0], gpu);
    r = { ok: true, detail: b.detail || b.name };
  } catch (err) {
    r = { ok: false, detail: describeError(err) };
  }
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

/** The probes run side by side, each in a process of its own: one after the other, doctor took 7 s here before --train. */
function probeInChild(backend: string, gpu: number | null): Promise<Probe> {
  const args = [MAIN_JS, 'doctor', '--probe', backend, ...(gpu === null ? [] : ['--gpu', String(gpu)])];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Probe);
      } catch {
        const status = err === null ? 0 : (err.signal ?? err.code);
        resolve({ ok: false, detail: `probe failed (${status}): ${stderr.trim().split('\n').pop() ?? ''}` });
      }
    });
  });
}

/**
 * The note of a training row: a software adapter's image limit, or what the run itself said at its
 * start of a GPU given small micro-batches (gpuMicroBatchNote: its figure is no GPU's best), so that
 * the GPU check shows that line works where only a GPU can show it.
 */
export function trainingNote(u: TrainingRun, softwareLimit: number, stderr: string): string {
  if (u.software) return `software adapter: the first ${softwareLimit} images at most`;
  return /^note: (micro-batches .*)$/m.exec(stderr)?.[1] ?? '';
}

async function trainOnce(a: DoctorArgs, u: TrainingRun, dir: string, started: (child: ChildProcess) => void): Promise<string[]> {
  const name = `${u.backend}${u.gpu === null ? '' : `-gpu${u.gpu}`}${u.software ? '-software' : ''}${u.threads === undefined ? '' : `-threads${u.threads}`}`;
  const args = [MAIN_JS, 'train', '--config', a.config ?? DEMO_CONFIG, '--backend', u.backend, '--train.epochs', '1', '--run.dir', dir, '--run.name', name, '--json'];
  if (a.config === undefined) args.push('--data.path', join(dir, 'data')); // the demo's synthetic data: not into the caller's folder
  if (u.gpu !== null) args.push('--gpu', String(u.gpu));
  if (u.threads !== undefined) args.push('--threads', String(u.threads));
  if (u.software) args.push('--data.limitTrain', String(a.softwareLimit), '--data.limitVal', String(Math.min(a.softwareLimit, 256)));
  const label = `${u.gpu === null ? u.backend : `${u.backend} --gpu ${u.gpu}`}${u.threads === undefined ? '' : ` --threads ${u.threads}`}`;
  const r = await new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, args, { encoding: 'utf8', timeout: TRAIN_LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      resolve({ status: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr });
    });
    started(child);
  });
  const epoch = (r.stdout ?? '').split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as { imagesPerSec: number }];
    } catch {
      return [];
    }
  })[0];
  const weights = join(new RunFolder(join(dir, name)).modelDir, 'weights.bin');
  if (r.status !== 0 || !epoch || !existsSync(weights)) {
    const errorLine = (r.stderr ?? '').split('\n').find((l) => l.startsWith('error ')) ?? `exit ${r.status}`;
    // SIGKILL is the limit's; another signal is the run's own end (a crash: SIGSEGV, SIGABRT).
    const signalled = r.signal === 'SIGKILL' ? `stopped after ${TRAIN_LIMIT_MS / 1000} s` : `ended by ${r.signal}${existsSync(weights) ? ' after saving its model' : ''}`;
    return [label, '', '', r.signal ? signalled : errorLine];
  }
  const sha = createHash('sha256').update(readFileSync(weights)).digest('hex');
  return [label, String(Math.round(epoch.imagesPerSec)), sha, trainingNote(u, a.softwareLimit, r.stderr ?? '')];
}

function command(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim().replace(/\n/g, '; ');
  } catch {
    return null;
  }
}

function vulkanIcds(): string[] {
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  return dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f)) : []));
}

async function dawnAdapters(): Promise<string> {
  try {
    const { listWebGpuAdapters } = await import('../worker/webgpu.js');
    const names = await listWebGpuAdapters();
    return names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'none (no Vulkan driver?)';
  } catch (err) {
    // Not a bug of ours (E_INTERNAL, as describeError calls any plain error): a package not installed.
    return `webgpu package not loadable (${isTrainerError(err) ? describeError(err) : (err instanceof Error ? err.message : String(err)).split('\n')[0]})`;
  }
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
