/**
 * steps.jsonl: the run's first minutes, step by step. Every `log.everySteps`
 * global steps (and at each checkpoint and the run's last step) one line with the mean loss and
 * the images/s of the steps since the previous line, the learning rate and the
 * workers: what TensorBoard's and Lightning's per-step scalars show. Fed from
 * the loop's onStep; lines are appended in order behind the loop's back, so a
 * step never waits for the disk, and `close` waits for them and reports the
 * first write that failed.
 */
import type { RunFolder, StepMetrics } from './run-folder.js';
import type { StepInfo } from './train-loop.js';

export class StepLog {
  private lossSum = 0;
  private examples = 0;
  private seconds = 0;
  private last: StepInfo | null = null;
  private writing: Promise<void> = Promise.resolve();
  private failed: unknown = null;

  constructor(
    private readonly folder: RunFolder,
    private readonly everySteps: number,
    private readonly lr: number,
  ) {}

  readonly onStep = (s: StepInfo): void => {
    this.lossSum += s.stepLoss * s.stepExamples;
    this.examples += s.stepExamples;
    this.seconds += s.stepSec;
    this.last = s;
    if (s.globalStep % this.everySteps === 0) this.emit();
  };

  /**
   * Writes the steps since the last line, if any, and waits for every line: before each checkpoint,
   * so that a run resumed from it finds every step up to it in steps.jsonl (those since the last
   * line were lost with the process), and at the end.
   */
  async flush(): Promise<void> {
    this.emit();
    await this.writing;
    if (this.failed !== null) throw this.failed;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private emit(): void {
    const s = this.last;
    if (s === null || this.examples === 0) return;
    const line: StepMetrics = {
      step: s.globalStep,
      epoch: s.epoch + 1,
      loss: this.lossSum / this.examples,
      imagesPerSec: this.seconds > 0 ? this.examples / this.seconds : 0,
      lr: this.lr,
      workers: s.workers,
      elapsedSec: s.elapsedSec,
    };
    this.lossSum = 0;
    this.examples = 0;
    this.seconds = 0;
    this.writing = this.writing.then(
      () =>
        this.folder
          .confirmClaim() // not into the run of a process that took it over while this one was stopped
          .then(() => this.folder.appendSteps([line]))
          .catch((err: unknown) => void (this.failed ??= err)),
    );
  }
}
