/**
 * What `trainer train` and `trainer coordinator` share once their flags are
 * checked: the run's folder claimed, the run trained with its progress, its
 * dashboard and its trace, stopped at a step boundary by a signal, and each
 * of them told how it ended.
 */
import type { LiveDashboard } from '../dashboard/live.js';
import { claimRunFolder, type RunStart } from '../coordinator/run-config.js';
import { runTraining, type RunEnd } from '../coordinator/run.js';
import type { StepTiming } from '../coordinator/train-loop.js';
import type { Config } from '../shared/config.js';
import { hideCredentials } from '../shared/url.js';
import type { PoolLaunch } from '../transports/create-pool.js';
import { downloadLines, downloadProgress, isOutputClosed, note, outputWriteError, stopOnSignal, stoppedExit } from './output.js';
import { createProgress, type Progress } from './progress.js';
import { TraceRecorder } from './trace.js';
import { TraceFile } from './trace-file.js';

export interface WatchedRun {
  /** The run's config, its folder not yet claimed. */
  resolved: Config;
  start: RunStart;
  quiet: boolean;
  /** --json: each epoch's metrics as a line on stdout. */
  json: boolean;
  /** --trace FILE, checked (checkTraceFile): written as the run goes. */
  trace: string | undefined;
  /** The run's dashboard, started once its folder is claimed; null for none. */
  dashboard: (config: Config) => Promise<LiveDashboard | null>;
  /** The transport's launch beyond the stop signal and the dashboard's hook (`trainer coordinator`'s ws). */
  launch?: (config: Config, dash: LiveDashboard | null) => Omit<PoolLaunch, 'signal' | 'onPool'>;
}

export async function trainWatched(w: WatchedRun): Promise<void> {
  const controller = new AbortController();
  // Signals stop the run from before its folder is claimed: one that came between the claim and
  // the handlers killed the process (exit 143) and left the claimed folder behind.
  let progress: Progress | null = null;
  const signals = stopOnSignal(controller, () => progress?.done(), w.quiet);
  let dash: LiveDashboard | null = null;
  // What the dashboard says at the end: an error thrown leaves it 'failed'.
  let ended: RunEnd = 'failed';
  let traceFile: TraceFile | null = null;
  let trace: TraceRecorder | null = null;
  // Stopped because standard output could not be written: that error ends the command, once stopped.
  let stoppedByOutput = false;
  try {
    const config = await claimRunFolder(w.resolved, w.start, note(w.quiet));
    if (w.trace !== undefined) {
      // Also with --quiet: the run's exit status does not tell that the file it asked for stops here.
      const onWriteError = (err: Error) => {
        progress?.done();
        process.stderr.write(`warning: --trace: ${err.message}; the file keeps the trace up to here, and the run goes on without the rest\n`);
      };
      traceFile = new TraceFile(w.trace, { onWriteError });
      trace = new TraceRecorder(traceFile);
    }
    const tf = traceFile;
    dash = await w.dashboard(config);
    const d = dash;
    const live = createProgress({ stream: process.stderr, out: process.stdout, epochs: config.train.epochs, quiet: w.quiet, json: w.json, outClosed: isOutputClosed });
    progress = live;
    // The dashboard's address is for people: on stderr, also with --json, and with --quiet too: it
    // was asked for (with --status-port 0 nothing else says where it is). One on the workers' port
    // is said once that port listens (the launch's onListening). Every address, as the coordinator's
    // line says them (--host all said [::] only).
    if (d?.served) process.stderr.write(`dashboard on ${d.served.urls.join(' and ')}\n`);
    const download = downloadProgress(w.quiet) ?? downloadLines(w.quiet, `${hideCredentials(config.data.url)} into ${config.data.path}`);
    await runTraining({
      config,
      resume: w.start === 'resume',
      launch: {
        signal: controller.signal,
        ...(d ? { onPool: d.onPool } : {}),
        ...w.launch?.(config, d),
      },
      ...(d ? { onPool: d.onPool, onHistory: d.onHistory } : {}),
      beforePoolClose: async (how: RunEnd) => {
        // How training ended, diverged included (the page said "failed (see the trainer log)" of it).
        ended = how;
        if (how === 'finished') signals.finished();
        // On the workers' port, the dashboard goes with the pool: an open page is shown the end first.
        if (d && !d.served) await d.end(how);
      },
      log: live.log,
      result: live.result,
      signal: controller.signal,
      // The run is over: its status from now on, also for a signal (signals.over()).
      onOver: (outcome) => {
        ended = outcome === 'finished' || outcome === 'already-finished' ? 'finished' : 'stopped';
        if (outcome === 'stopped' || outcome === 'not-started') process.exitCode = stoppedExit(outcome);
        stoppedByOutput = outcome === 'stopped' && outputWriteError() !== null;
        signals.over();
      },
      ...(download ? { onDownloadProgress: download } : {}),
      // Written and synced with each checkpoint: a process killed after one leaves the trace up to it.
      ...(tf ? { beforeCheckpoint: () => tf.sync() } : {}),
      onStep: (s) => {
        if (s.epoch + 1 === config.train.epochs && s.stepInEpoch === s.stepsInEpoch) signals.lastStep();
        live.onStep?.(s);
        d?.onStep(s);
      },
      // Only when someone reads it: the loop then asks the pool for its statistics every step.
      ...(trace || d
        ? {
            onStepTiming: (t: StepTiming) => {
              trace?.onStepTiming(t);
              d?.onStepTiming(t);
            },
          }
        : {}),
      onEpoch: (m) => {
        trace?.onEpoch(m);
        // The trace holds every epoch that metrics.jsonl does, checkpointed or not.
        tf?.flush();
        d?.onEpoch(m);
        if (w.json) process.stdout.write(`${JSON.stringify(m)}\n`);
      },
    });
    const unwritten = outputWriteError();
    if (stoppedByOutput && unwritten !== null) throw unwritten;
  } finally {
    // On the workers' port it was shown before the pool closed (beforePoolClose).
    if (dash?.served) await dash.end(ended);
    await dash?.close();
    progress?.done();
    traceFile?.close();
    signals.over();
  }
}
