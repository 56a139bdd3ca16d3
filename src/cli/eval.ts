/** `trainer eval --run DIR` (or `trainer eval DIR`): train and validation accuracy of a saved model. */
import { readExportedModel } from '../coordinator/export.js';
import { dataIdentity, sameData, showData } from '../data/dataset.js';
import { loadRunData } from '../coordinator/run.js';
import { storedPaths } from '../coordinator/run-config.js';
import { RunFolder } from '../coordinator/run-folder.js';
import { backendLine, selectBackend } from '../worker/backend.js';
import { BACKENDS, DEFAULT_CONFIG, type BackendName } from '../shared/config.js';
import { mergeConfig } from '../shared/config-values.js';
import { validateConfig } from '../shared/config-validate.js';
import { TrainerError } from '../shared/errors.js';
import { chunks, MicroBatchComputer } from '../worker/gradient.js';
import { getModel } from '../worker/model.js';
import { refuseOversizeTasks } from '../worker/webgpu-errors.js';
import type { EvalArgs } from './commands.js';

export async function evalCommand(a: EvalArgs, overrides: Record<string, unknown>): Promise<void> {
  // One name for both, and the positional won: `--run a b` evaluated b without a word about a.
  if (a.RUN !== undefined && a.run !== undefined) {
    throw new TrainerError('E_USAGE', `the run folder given twice, ${JSON.stringify(a.run)} (--run) and ${JSON.stringify(a.RUN)}: give it once, as RUN or --run RUN`);
  }
  const run = a.RUN ?? a.run;
  if (run === undefined) throw new TrainerError('E_USAGE', 'name the run folder: trainer eval --run runs/NAME (see trainer eval --help)');
  // Unchecked, a misspelt backend fell through to the slowest one, cpu.
  if (a.backend !== undefined && !(BACKENDS as readonly string[]).includes(a.backend)) {
    throw new TrainerError('E_USAGE', `--backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(a.backend)}`);
  }
  const folder = new RunFolder(run);
  // Its data where the run read it, whatever this process's folder (--data.path is relative to this one).
  // Keys added since the run's version take their defaults, as on resume (it was E_CONFIG "… got nothing").
  const base = storedPaths(mergeConfig(structuredClone(DEFAULT_CONFIG), await folder.readConfig()), folder.dir) as Record<string, Record<string, unknown>>;
  // Only where the data is and the evaluation's task size (main.ts checks the keys).
  const over = overrides as { data?: object; eval?: object };
  // Its cluster section as the defaults: eval computes here, with none of the run's workers, and one
  // a later version refuses (cluster.verify with threads, taken before) refused evaluating the run.
  const config = validateConfig({ ...base, cluster: structuredClone(DEFAULT_CONFIG.cluster), data: mergeConfig(base.data, over.data), eval: mergeConfig(base.eval, over.eval) });
  const exported = await readExportedModel(folder.modelDir).catch(async (err: unknown) => {
    throw (await folder.unfinished()) ?? err;
  });
  // Read once: for the model's place in the run and the data it trained on.
  // Damaged beside a model that is not (a flipped bit, a copy cut short): the model is scored, and the
  // run cannot go on from its checkpoint; said nowhere until --resume refused it.
  const ck = await folder.readCheckpoint((err) => {
    const why = err instanceof Error ? err.message : String(err);
    process.stderr.write(`note: ${why}; its model is evaluated all the same, but the run cannot be resumed or trained further\n`);
  });
  const behind = await folder.modelBehind(exported.params, ck);
  if (behind !== null) process.stderr.write(`${behind}\n`);
  // predict builds the model model.json names, eval the run's: they scored different models of one folder.
  if (exported.modelName !== config.model.name) {
    throw new TrainerError('E_MODEL', `${folder.modelDir}/model.json holds model ${JSON.stringify(exported.modelName)}, the run trains ${JSON.stringify(config.model.name)}: damaged, or not this run's model`);
  }
  const model = getModel(config.model.name);
  if (exported.params.length !== model.size) throw new TrainerError('E_MODEL', `weights do not fit model ${model.name}`);
  const backend = await selectBackend((a.backend ?? config.backend) as BackendName, null);
  // As train's start-up line: a run trained on webgpu was evaluated on a slower one without a word.
  // --json has it in its object, and its stderr stays for notes that something is off.
  if (!a.json) process.stderr.write(`${backendLine(backend)}\n`);
  const data = await loadRunData(config, { fixedSource: true });
  // Scored on other images than the run's (files replaced at its data.path, another --data.path): said,
  // not refused, as evaluating a model on other data is a fair question; it was said nowhere.
  // The images are hashed only when the checkpoint keeps what to compare with.
  const trainedOn = ck?.data;
  const now = trainedOn ? dataIdentity(data) : null;
  if (trainedOn && now && !sameData(trainedOn, now)) {
    process.stderr.write(`note: the data read from ${data.sourceDir} (${showData(now)}) is not the data ${folder.dir} trained on (${showData(trainedOn)})\n`);
  }
  // Evaluation chunks only (microBatch 0): on webgpu, one too large for the adapter is refused naming eval.batchSize.
  refuseOversizeTasks(model, { microBatch: 0, maxBatch: config.eval.batchSize });
  const computer = new MicroBatchComputer(model, exported.meta.normalization, config.eval.batchSize);
  const accuracy = async (split: 'train' | 'val') => {
    const d = split === 'train' ? data.train : data.val;
    let correct = 0;
    for (const idx of chunks(d.count, config.eval.batchSize)) correct += (await computer.evaluateAsync(exported.params, d, idx)).correct;
    return d.count ? correct / d.count : 0;
  };
  const result = { run, backend: backend.name, trainAcc: await accuracy('train'), valAcc: await accuracy('val') };
  if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`Accuracy train: ${result.trainAcc.toFixed(4)}\nAccuracy val: ${result.valAcc.toFixed(4)}\n`);
}
