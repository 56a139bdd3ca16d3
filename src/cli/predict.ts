/**
 * `trainer predict --run DIR IMAGE...`: the top classes of PNG or JPEG files
 * under a trained model, the article's "Label: 1 – Class: automobile" on real
 * files.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readExportedModel } from '../coordinator/export.js';
import { exists, RunFolder } from '../coordinator/run-folder.js';
import { selectBackend } from '../worker/backend.js';
import { fsFaultText } from '../shared/atomic-file.js';
import { BACKENDS, type BackendName } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { classifyRecords, type ClassScore } from '../predict/classify.js';
import { decodeImage, toCifarRecord } from '../predict/image.js';
import { readImageFile } from '../predict/image-file.js';
import type { PredictArgs } from './commands.js';

async function modelDir(run: string): Promise<string> {
  const folder = new RunFolder(run);
  if (await folder.hasModelFile()) return folder.modelDir;
  // A mistyped --run was "cannot read runs/dmeo/model.json: … (ENOENT)": a file in a folder that is not there.
  const notFolder = await stat(run).then((st) => (st.isDirectory() ? null : 'a file, not a folder'), fsFaultText);
  if (notFolder !== null) throw new TrainerError('E_USAGE', `--run ${run} is not a run or model folder: ${notFolder}`);
  if (await exists(join(run, 'model.json'))) return run;
  // A run with no model yet says why (unfinished). Another folder (runs/, where runs/NAME was meant)
  // was "cannot read runs/model.json: … (ENOENT)", as if it were a model's folder missing its file.
  throw (await folder.unfinished()) ?? new TrainerError('E_USAGE', `--run ${run} is not a run or model folder: no model.json in it nor in its model/`);
}

/** "Label: 1 – Class: automobile" and the top classes, one per line. */
export function formatPrediction(path: string, ranked: readonly ClassScore[], top: number): string {
  // A name with a newline or another control character split its line: such a name is quoted.
  const file = /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path;
  const best = ranked[0];
  if (!best) return `${file}: no classes\n`;
  const shown = ranked.slice(0, top);
  const width = Math.max(...shown.map((s) => s.className.length));
  const lines = shown.map((s) => `  ${String(s.label).padStart(2)} ${s.className.padEnd(width)} ${(s.probability * 100).toFixed(1).padStart(5)} %`);
  return `${file}: Label: ${best.label} – Class: ${best.className}\n${lines.join('\n')}\n`;
}

export async function predictCommand(a: PredictArgs): Promise<void> {
  if (!Number.isInteger(a.top) || a.top < 1) throw new TrainerError('E_USAGE', `--top must be a positive integer, got ${JSON.stringify(a.top)}`);
  if (!(BACKENDS as readonly string[]).includes(a.backend) || a.backend === 'tensorflow-gpu') {
    throw new TrainerError('E_USAGE', `--backend must be one of auto, tensorflow, webgpu, wasm, cpu; got ${JSON.stringify(a.backend)}`);
  }
  // Every file is read and decoded before the model loads: a typo fails fast.
  const records: Uint8Array[] = [];
  for (const file of a.images) records.push(toCifarRecord(decodeImage(await readImageFile(file), file)));
  const exported = await readExportedModel(await modelDir(a.run)).catch(async (err: unknown) => {
    throw (await new RunFolder(a.run).unfinished()) ?? err;
  });
  const folder = new RunFolder(a.run);
  const behind = await folder.modelBehind(exported.params, await folder.readCheckpoint());
  if (behind !== null) process.stderr.write(`${behind}\n`);
  await selectBackend(a.backend as BackendName, null);
  const results = await classifyRecords(exported, records);
  a.images.forEach((file, i) => {
    const ranked = results[i] ?? [];
    if (a.json) {
      const best = ranked[0];
      const top = ranked.slice(0, a.top).map((s) => ({ label: s.label, class: s.className, probability: s.probability }));
      process.stdout.write(`${JSON.stringify({ file, label: best?.label ?? null, class: best?.className ?? null, top })}\n`);
    } else {
      process.stdout.write(formatPrediction(file, ranked, a.top));
    }
  });
}
