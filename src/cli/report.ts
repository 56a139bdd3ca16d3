/** `trainer report RUN_DIR`: writes RUN_DIR/report.html from what the run folder holds. */
import { RunFolder } from '../coordinator/run-folder.js';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { renderReport } from '../report/html.js';
import { readRun } from '../report/read-run.js';

export interface ReportArgs {
  run: string;
  quiet: boolean;
}

export async function reportCommand(a: ReportArgs): Promise<void> {
  const run = await readRun(a.run);
  const file = new RunFolder(a.run).reportFile;
  await writeFileAtomic(file, Buffer.from(renderReport(run)));
  if (!a.quiet) process.stdout.write(`${file}\n`);
}
