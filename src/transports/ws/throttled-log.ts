/**
 * Events of one kind that may come by the thousand are logged at most once per interval, as one
 * line with how many there were and the last one's detail; the first (or the first few: `burst`)
 * at once. Anyone who reaches the port can cause some (a refused connection, a failed
 * authentication: thousands a second must not flood the log), anyone holding the token others
 * (joins that end before the worker is ready: pool.ts), contention others still (a slow part given
 * to a second worker, dispatch.ts).
 */

/** The interval of a ThrottledLog by default. */
const LOG_EVERY_MS = 10_000;
/** An event flushed this long after it came says how long ago it was. */
const HELD_SAID_MS = 1_000;

export class ThrottledLog {
  private count = 0;
  private lastDetail = '';
  /** When the last event came: one held back and told later says how long ago. */
  private lastNoteMs = 0;
  /** When the interval began: at its first event told at once, or when held ones were told. */
  private intervalStartMs = Number.NEGATIVE_INFINITY;
  /** Events told as they came in this interval (at most `burst`). */
  private toldAtOnce = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: (line: string) => void,
    private readonly line: (count: number, lastDetail: string) => string,
    private readonly everyMs = LOG_EVERY_MS,
    /** Events of an interval told as they come, each on its own line, before the rest are held back. */
    private readonly burst = 1,
  ) {}

  note(detail: string): void {
    this.count++;
    this.lastDetail = detail;
    const now = performance.now();
    this.lastNoteMs = now;
    if (this.timer === null && now - this.intervalStartMs >= this.everyMs) {
      this.intervalStartMs = now;
      this.toldAtOnce = 0;
    }
    if (this.toldAtOnce < this.burst) {
      this.toldAtOnce++;
      return this.tell(now);
    }
    // The rest of a burst is told when its time comes, not only at the next event (which may never come).
    this.timer ??= setTimeout(() => {
      this.timer = null;
      if (this.count > 0) this.tellHeld(performance.now());
    }, this.intervalStartMs + this.everyMs - now).unref();
  }

  /** Tells the events not told yet now (the run or the connection they are about ends): none is lost. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.count > 0) this.tellHeld(performance.now(), true);
  }

  /** Held events, told as one line: an interval begins in which the next ones are held (the flood may go on). */
  private tellHeld(now: number, flushed = false): void {
    this.intervalStartMs = now;
    this.toldAtOnce = this.burst;
    this.tell(now, flushed);
  }

  /** `flushed`: told because what it is about ends, maybe long after it came (not at its interval's end). */
  private tell(now: number, flushed = false): void {
    // Held back a while and flushed (a run's end tells what a minute's interval held): it read as
    // happening now, about a worker that had left by then.
    const age = now - this.lastNoteMs;
    this.log(`${this.line(this.count, this.lastDetail)}${flushed && age >= HELD_SAID_MS ? ` (${Math.round(age / 1000)} s ago)` : ''}`);
    this.count = 0;
  }
}
