/** Run folders written as a training run leaves them, line by line, without training: a long run in a fraction of a second. */
import { mkdir, writeFile } from 'node:fs/promises';
import type { EpochMetrics, StepMetrics } from '../../src/coordinator/run-folder.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { mergeConfig } from '../../src/shared/config-values.js';
import { smallConfig } from '../helpers.js';

export interface WrittenRun {
  name: string;
  epochs: number;
  stepsPerEpoch: number;
  /** Epochs finished (a metrics line each), for a run stopped early; default all `epochs`. */
  epochsDone?: number;
  /** Steps logged after the last finished epoch, as by a run stopped mid-epoch; default 0. */
  stepsAfter?: number;
  /** Merged into smallConfig's config (run.name and train.epochs come from above). */
  config?: object;
  /**
   * config.json's run.dir, which the trainer keeps as typed, relative to the folder the run was
   * started in (`runs`, `./runs`, `.`); default the absolute DIR/runs. The folder is DIR/runs/NAME.
   */
  runDirTyped?: string;
  /** The E_DIVERGED message of a run that stopped so (diverged.txt, as the trainer writes it); default none. */
  diverged?: string;
  /** The loss logged at `step` (1-based) of `steps`; default a noisy fall from about 2 to about 0.75. */
  loss?: (step: number, steps: number) => number;
  /** Epochs evaluated (eval.every): the others' lines have no train or validation accuracy or loss; default 1 (every epoch). */
  evalEvery?: number;
  /** The backend kinds of each epoch's line (1-based); default ['wasm']. */
  backends?: (epoch: number) => string[];
}

const fallingLoss = (step: number, steps: number) => 0.5 + 1.5 * Math.exp(-step / steps) + 0.2 * (((step * 7919) % 13) / 13);

/** DIR/runs/NAME: smallConfig's config.json, a metrics.jsonl line per epoch, a steps.jsonl line per step; returns the folder. */
export async function writeRun(dir: string, r: WrittenRun): Promise<string> {
  const config = smallConfig(dir, mergeConfig(r.config ?? {}, { run: { name: r.name }, train: { epochs: r.epochs } }) as object);
  const folder = RunFolder.of(config);
  await mkdir(folder.dir, { recursive: true });
  const stored = r.runDirTyped === undefined ? config : { ...config, run: { ...config.run, dir: r.runDirTyped } };
  await writeFile(folder.configFile, `${JSON.stringify(stored, null, 2)}\n`);
  const done = r.epochsDone ?? r.epochs;
  const total = done * r.stepsPerEpoch + (r.stepsAfter ?? 0);
  const loss = r.loss ?? fallingLoss;
  const steps: string[] = [];
  for (let step = 1; step <= total; step++) {
    const line: StepMetrics = { step, epoch: Math.ceil(step / r.stepsPerEpoch), loss: loss(step, total), imagesPerSec: 1000, lr: 0.05, workers: 1, elapsedSec: step / 10 };
    steps.push(JSON.stringify(line));
  }
  await writeFile(folder.stepsFile, `${steps.join('\n')}\n`);
  const epochs: string[] = [];
  for (let epoch = 1; epoch <= done; epoch++) {
    const step = epoch * r.stepsPerEpoch;
    const evaluated = epoch % (r.evalEvery ?? 1) === 0;
    const line: EpochMetrics = {
      epoch, step, trainLoss: loss(step, total), runningAcc: 0.5, trainAcc: evaluated ? 0.6 : null, valAcc: evaluated ? 0.55 : null, valLoss: evaluated ? 1 : null,
      imagesPerSec: 1000, elapsedSec: step / 10, workers: 1, backends: r.backends?.(epoch) ?? ['wasm'],
    };
    epochs.push(JSON.stringify(line));
  }
  await writeFile(folder.metricsFile, epochs.map((l) => `${l}\n`).join(''));
  if (r.diverged !== undefined) await folder.markDiverged(r.diverged);
  return folder.dir;
}
