/**
 * The file behind `--trace FILE`, written as the run goes: events wait in memory until
 * `flushBytes` of them are there, `flushEveryMs` has passed or the run asks (an epoch's end, a
 * checkpoint), and then go to the file in one write. Held in memory until the end, a long run's trace grew without
 * bound, and a run killed by SIGKILL, the OOM killer or a lost node left no file at all.
 *
 * The file is the Trace Event Format's JSON Array Format (`[ {event}, ... ]`), not its JSON
 * Object Format (`{"traceEvents": [...]}`): the format's document says of the array form "When
 * provided as a string to the importer the ] at the end of the JSON Array Format is optional. The
 * Trace Viewer importer will automatically add a ] if needed to turn the string into valid JSON..
 * This is to support tracing systems that can not cleanly finish writing the trace. For example,
 * when tracing the exit of a program." (Trace Event Format, "JSON Array Format";
 * https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU). An object
 * cut short has no such allowance. Beyond it, each write puts the closing `]` back: it is
 * written over the previous write's `]`, so that between writes the file is whole JSON, which a
 * JSON parser and Perfetto (whose importer reports an array without its `]` as an incomplete
 * file) read as well. Only a process killed in the middle of a write (microseconds in a second)
 * leaves a last line cut short and no `]`: drop that line and add one. A reader that opens the file
 * while the run writes may likewise catch a write half done: read it again.
 *
 * Writes are synchronous: what waits is bounded by `flushBytes` without dropping an event, a
 * write of that much to the page cache takes microseconds between two steps, and the process's
 * 'exit' (a second Ctrl-C exits at once) can still write what waits.
 *
 * A write that fails (a full disk, a file-size limit) ends the trace, not the run: the trace is
 * a view of the run, not part of its state (a checkpoint that cannot be written stops the run,
 * as going on would lose its training). The failed write is undone, so the file stays whole JSON
 * with what came before; `onWriteError` is told once, and events are dropped from then on.
 */
import { closeSync, fdatasync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { ioError } from '../shared/atomic-file.js';
import type { TrainerError } from '../shared/errors.js';
import type { TraceEvent } from './trace.js';

export interface TraceFileOptions {
  /** Write once this many characters of events wait (default 64 KiB): what the trace holds in memory. */
  flushBytes?: number;
  /** Write what waits at least this often, ms (default 1000). */
  flushEveryMs?: number;
  /** A write failed: told once; the file keeps what was written before, and the run goes on without the rest. */
  onWriteError?: (err: TrainerError) => void;
}

export const TRACE_FLUSH_BYTES = 64 * 1024;
export const TRACE_FLUSH_EVERY_MS = 1000;

/** What ends the file after every write; the next write starts over it. */
const TAIL = '\n]\n';
const TAIL_BYTES = Buffer.byteLength(TAIL);
const datasync = promisify(fdatasync);

export class TraceFile {
  private fd: number | null;
  /** The file's length: its events, then TAIL. */
  private size = 0;
  private written = 0;
  private waiting: string[] = [];
  private waitingChars = 0;
  private readonly flushBytes: number;
  private readonly timer: NodeJS.Timeout;
  private readonly onExit = () => this.close();

  /** Creates (or empties) `file` and writes an empty array to it; E_IO if it cannot. */
  constructor(
    readonly file: string,
    private readonly o: TraceFileOptions = {},
  ) {
    this.flushBytes = o.flushBytes ?? TRACE_FLUSH_BYTES;
    try {
      this.fd = openSync(file, 'w');
      this.writeAt(Buffer.from(`[${TAIL}`), 0);
    } catch (err) {
      throw ioError(file, err);
    }
    this.size = 1 + TAIL_BYTES;
    this.timer = setInterval(() => this.flush(), o.flushEveryMs ?? TRACE_FLUSH_EVERY_MS).unref();
    process.on('exit', this.onExit);
  }

  append(event: TraceEvent): void {
    if (this.fd === null) return;
    const text = JSON.stringify(event);
    this.waiting.push(text);
    this.waitingChars += text.length;
    if (this.waitingChars >= this.flushBytes) this.flush();
  }

  /** Writes what waits, over the file's closing `]`, with a `]` after it. */
  flush(): void {
    if (this.fd === null || this.waiting.length === 0) return;
    const text = this.waiting.map((e, i) => (this.written + i === 0 ? '\n' : ',\n') + e).join('') + TAIL;
    const count = this.waiting.length;
    this.waiting = [];
    this.waitingChars = 0;
    const buf = Buffer.from(text);
    const at = this.size - TAIL_BYTES;
    try {
      this.writeAt(buf, at);
    } catch (err) {
      this.fail(err, at);
      return;
    }
    this.size = at + buf.length;
    this.written += count;
  }

  /** At a checkpoint: what waits written and on the disk, as the checkpoint will be. */
  async sync(): Promise<void> {
    this.flush();
    if (this.fd === null) return;
    const fd = this.fd;
    await datasync(fd).catch((err: unknown) => {
      if (this.fd === fd) this.fail(err, null);
    });
  }

  /** Writes what waits and closes the file (more than once is once). */
  close(): void {
    this.flush();
    this.stop();
  }

  /** What the trace holds in memory: events waiting to be written and their characters. */
  held(): { events: number; chars: number } {
    return { events: this.waiting.length, chars: this.waitingChars };
  }

  /** Events in the file. */
  get eventsWritten(): number {
    return this.written;
  }

  private writeAt(buf: Buffer, position: number): void {
    // A write may take fewer bytes than it was given (a file-size limit, a disk filling up): the
    // rest is written again, and that attempt reports the error.
    for (let done = 0; done < buf.length; ) {
      const n = writeSync(this.fd as number, buf, done, buf.length - done, position + done);
      if (n <= 0) throw Object.assign(new Error('the file system took no bytes'), { code: 'EIO' });
      done += n;
    }
  }

  /**
   * The write at `at` failed: the file is put back as it was before it (its `]` again, its length),
   * which needs no more room than it had. Null: nothing to undo (a failed sync).
   */
  private fail(err: unknown, at: number | null): void {
    if (at !== null) {
      try {
        this.writeAt(Buffer.from(TAIL), at);
        ftruncateSync(this.fd as number, at + TAIL_BYTES);
      } catch {
        // The events before are there all the same; without its `]` the array is still the format's.
      }
    }
    this.waiting = [];
    this.waitingChars = 0;
    this.stop();
    this.o.onWriteError?.(ioError(this.file, err));
  }

  private stop(): void {
    clearInterval(this.timer);
    process.off('exit', this.onExit);
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch {
      // Closing a file that was written adds nothing to say.
    }
  }
}
