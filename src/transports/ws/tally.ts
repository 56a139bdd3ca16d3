/**
 * What becomes of the results of a job's parts: each vote goes to its part,
 * and the part is decided by verdict.ts's rules once its votes allow; until
 * then it asks for the copies it still wants (the dispatcher hands them out).
 * A decided part's result is used (once), whoever sent something else is
 * evicted and refused for the run, and workers agreeing on a non-finite
 * result (3, or both of 2) end the job with E_DIVERGED.
 *
 * A gradient's norm is measured against the other workers' norms, one value
 * per worker, never against its sender's own (norm-reference.ts). In a run's
 * first step there is no previous one, so its parts are judged together once
 * each has a result. With
 * 0 < cluster.verify < 1, the results used unverified are counted per worker:
 * one caught lying after some were used ends the job with E_VERIFY, since the
 * weights may hold its lies.
 */
import { TrainerError } from '../../shared/errors.js';
import type { WorkerConn } from './connection.js';
import { enqueue, partName, type Job, type Part } from './job.js';
import { NormReference, type Reference } from './norm-reference.js';
import { decide, sameResult, smallness, suspicion, type PartResult, type Vote } from './verdict.js';

export interface TallyOptions {
  /** cluster.verify: results of unverified parts are counted per worker when above 0. */
  verify: number;
  /** cluster.maxNormRatio. */
  maxNormRatio: number;
  /** Workers taking part now: a suspect result is confirmed by 3 credible ones, or both of 2. */
  workers: () => Iterable<WorkerConn>;
  /** Evicts a worker and refuses its name for the rest of the run. */
  ban: (conn: WorkerConn, reason: string) => void;
  /**
   * The first verified part: the backend kinds of the workers that agreed on it. Workers of other
   * kinds compute other bits; the pool refuses them from then on (pool.ts kindRefusal).
   */
  kindsSettled?: (kinds: ReadonlySet<string>) => void;
  log: (line: string) => void;
  /** A part is decided: `result` is its result, reported once. */
  onUse: (job: Job, part: Part, result: PartResult) => void;
}

/** Results of one worker used unverified: what a lie of it may have changed. */
interface Unverified {
  sinceStep: number;
  count: number;
}

export class Tally {
  /** What each gradient's norm is measured against: the other workers' norms. */
  private readonly norms: NormReference;
  /** Pairs of workers warned about: a too-small result beat the other's and nobody could tell which lied. */
  private readonly undecided = new Set<string>();
  private readonly unverified = new WeakMap<WorkerConn, Unverified>();
  /** Workers a result of which was used: only they can confirm a suspect result. */
  private readonly record = new WeakSet<WorkerConn>();
  /** Workers evicted for a losing result. */
  private readonly punished = new WeakSet<WorkerConn>();
  /** The backend kinds whose bits agreed on the first verified part, once there was one. */
  private kinds: ReadonlySet<string> | null = null;

  constructor(private readonly o: TallyOptions) {
    this.norms = new NormReference(o.maxNormRatio);
  }

  /** Whether two workers agreed on a verified part yet, which settles the run's backend kinds. */
  get kindsSettled(): boolean {
    return this.kinds !== null;
  }

  /** A new job: its norms start afresh. */
  start(): void {
    this.norms.start();
  }

  /** A training step is done: the values of the workers that sent gradients bound theirs in the next. */
  stepDone(): void {
    this.norms.stepDone();
  }

  /** `vote` answers `part`: counted, or compared with what was used when the part is already decided. */
  add(job: Job, part: Part, vote: Vote<WorkerConn>): void {
    if (part.decided !== null || job.done) return this.late(job, part, vote);
    part.votes.push(vote);
    if (job.kind === 'grad' && vote.finite && vote.result.count > 0) this.norms.add(vote.from.identity, vote.normPerExample);
    this.settle(job, part);
  }

  /**
   * With verification off, a lone worker is all there is: its last result for
   * `part` stands (a non-finite one means the run diverged).
   */
  trustLone(job: Job, part: Part): void {
    const vote = part.votes.at(-1);
    if (!vote || part.running > 0 || part.decided !== null || job.done) return;
    if (!vote.finite) return job.reject(this.diverged(job, part, [vote]));
    this.use(job, part, vote, false, []);
  }

  /**
   * Decides `part` if its votes allow, else asks for the copies it still
   * wants. In a run's first step there is no earlier step to measure norms
   * against: its parts are judged together, once each has a result.
   */
  settle(job: Job, part: Part): void {
    if (part.decided !== null || job.done) return;
    if (this.holding(job)) {
      if (job.parts.some((p) => p.votes.length === 0 && p.decided === null)) {
        if (part.votes.length === 0) this.wantCopies(job, part, part.need);
        return;
      }
      for (const p of job.parts) if (p.decided === null && !job.done) this.judge(job, p);
      return;
    }
    this.judge(job, part);
  }

  private holding(job: Job): boolean {
    return job.kind === 'grad' && !this.norms.hasPreviousStep && job.parts.length > 1;
  }

  /**
   * Judges `part` on its votes. A held step's part may hold several (a slow copy answered while
   * the step waited for other parts): they are judged in the order they came, as they would have
   * been outside a held step, and those after the decision are late. Judged all at once, two
   * different results at cluster.verify 0 (workers of two backend kinds, whose bits differ) were a
   * dispute wanting a third worker: the run's first step waited cluster.noWorkerTimeoutMs and
   * failed with two workers, and with three the one of the other kind was evicted.
   */
  private judge(job: Job, part: Part): void {
    if (part.votes.length <= 1) return this.judgeVotes(job, part);
    const votes = part.votes;
    part.votes = [];
    for (const v of votes) {
      if (part.decided !== null || job.done) this.late(job, part, v);
      else {
        part.votes.push(v);
        this.judgeVotes(job, part);
      }
    }
  }

  private judgeVotes(job: Job, part: Part): void {
    if (part.votes.length === 0) return this.wantCopies(job, part, part.need);
    const reference = (v: Vote<WorkerConn>) => this.reference(job, v);
    const ratio = this.o.maxNormRatio;
    // Credible: a worker a result of which was used before; everyone while nobody present has such a record.
    const present = [...this.o.workers()];
    const recorded = present.filter((c) => this.record.has(c)).length;
    const credible = (v: Vote<WorkerConn>) => recorded === 0 || this.record.has(v.from);
    const confirm = Math.min(3, Math.max(2, recorded === 0 ? present.length : recorded));
    const d = decide(part.votes, part.need, (v) => suspicion(v, reference(v)?.upper ?? null, ratio), confirm, credible);
    switch (d.kind) {
      case 'pending':
        return this.wantCopies(job, part, d.wanted);
      case 'diverged':
        return job.reject(this.diverged(job, part, d.votes));
      case 'use': {
        const agreeing = part.votes.length - d.losers.length;
        const kind = (loser: Vote<WorkerConn>) =>
          loser.from.backend === d.vote.from.backend ? '' : ` (it computes on ${loser.from.backend}, they on ${d.vote.from.backend})`;
        const why = (loser: Vote<WorkerConn>) =>
          d.verified
            ? `verification mismatch on ${partName(job, part)}: its result differs from the one ${agreeing} other workers computed${kind(loser)}`
            : `${suspicion(loser, reference(loser)?.upper ?? null, ratio) ?? 'a different result'} in its result for ${partName(job, part)}, which another worker computed otherwise`;
        // One worker's too-small result is no proof against another's finite one: either may be the liar.
        const small = d.verified ? null : smallness(d.vote, reference(d.vote)?.lower ?? null, ratio);
        const unproven = small === null ? [] : d.losers.filter((l) => l.finite);
        if (small !== null) this.unproven(job, part, d.vote, unproven, small);
        const losers = d.losers.filter((l) => !unproven.includes(l));
        return this.use(job, part, d.vote, d.verified, losers.map((l) => ({ vote: l, why: why(l) })));
      }
    }
  }

  /** Copies of `part` under way or waiting: at least `count`. */
  private wantCopies(job: Job, part: Part, count: number): void {
    for (let k = part.running + part.queued; k < count; k++) enqueue(job, part);
  }

  /** What `v`'s norm is measured against (norm-reference.ts); null for an evaluation or an empty micro-batch. */
  private reference(job: Job, v: Vote<WorkerConn>): Reference | null {
    if (job.kind !== 'grad' || v.result.count === 0) return null;
    return this.norms.around(v.from.identity);
  }

  /**
   * A lone too-small result beat others: it is used (it cannot harm the
   * weights), and nobody is evicted, since nothing tells which worker lied
   * (with two workers, each is out of bounds measured against the other).
   * Warned about once per pair of workers.
   */
  private unproven(job: Job, part: Part, vote: Vote<WorkerConn>, losers: readonly Vote<WorkerConn>[], small: string): void {
    for (const l of losers) {
      const pair = `${vote.from.identity}\0\0${l.from.identity}`;
      if (this.undecided.has(pair)) continue;
      this.undecided.add(pair);
      this.o.log(
        `warning: worker ${vote.from.id} (${vote.from.name}) and worker ${l.from.id} (${l.from.name}) disagree on ${partName(job, part)}, the first with ${small}: ` +
          'its result is used and neither is evicted, as no third worker tells which is wrong (warned once per pair)',
      );
    }
  }

  private use(job: Job, part: Part, vote: Vote<WorkerConn>, verified: boolean, losers: { vote: Vote<WorkerConn>; why: string }[]): void {
    part.decided = { vote, verified };
    for (const l of losers) this.punish(job, l.vote.from, l.why);
    if (verified && this.kinds === null) this.settleKinds(job, part, vote);
    if (job.done) return;
    for (const v of part.votes) if (sameResult(v, vote)) this.record.add(v.from);
    if (!verified && this.o.verify > 0 && job.kind === 'grad') {
      const u = this.unverified.get(vote.from) ?? { sinceStep: job.step, count: 0 };
      u.count++;
      this.unverified.set(vote.from, u);
    }
    this.o.onUse(job, part, vote.result);
  }

  /**
   * The first part two workers agree on settles the run's backend kinds: theirs. A worker of
   * another kind (admitted while the kinds were open, see pool.ts) computes other bits: its votes
   * on parts still open are dropped, and if results of it were used unverified the weights mix
   * backends, so the run stops as for a caught liar (a made-up kind is a claim, not a proof).
   */
  private settleKinds(job: Job, part: Part, vote: Vote<WorkerConn>): void {
    const kinds = new Set(part.votes.filter((v) => sameResult(v, vote)).map((v) => v.from.backend));
    this.kinds = kinds;
    const settled = [...kinds].join(', ');
    for (const conn of this.o.workers()) {
      const u = kinds.has(conn.backend) ? undefined : this.unverified.get(conn);
      if (u && !job.done) {
        job.reject(
          new TrainerError(
            'E_VERIFY',
            `worker ${conn.id} (${conn.name}) computes on ${conn.backend}, and the results workers agree on are of ${settled}: ` +
              `${u.count} result(s) of it since step ${u.sinceStep + 1} were used unverified (cluster.verify ${this.o.verify}), so the weights may mix ` +
              `other bits and the run stops without saving. Run every worker on one backend, and resume from a checkpoint of step ${u.sinceStep} or earlier`,
          ),
        );
      }
    }
    const open = job.parts.filter((p) => p.decided === null && p.votes.some((v) => !kinds.has(v.from.backend)));
    for (const p of open) p.votes = p.votes.filter((v) => kinds.has(v.from.backend));
    this.o.kindsSettled?.(kinds);
    // Their votes gone, those parts may want copies again (or be decided by what is left).
    for (const p of open) this.settle(job, p);
  }

  /** A worker whose result lost: evicted and refused for the run; with results of it used unverified, the run stops. */
  private punish(job: Job, conn: WorkerConn, why: string): void {
    // Once: its other losing votes (parts decided after it left) tell nothing new.
    if (!this.punished.has(conn)) {
      this.punished.add(conn);
      this.norms.refuse(conn.identity);
      // A worker gone before its result lost (a vote it left behind) is no longer in the run to be
      // evicted from: its ban still counts, should it come back.
      const what = conn.state === 'closed' ? ', gone already, is refused' : ' evicted and refused';
      this.o.log(`worker ${conn.id} (${conn.name})${what} for the rest of the run: ${why}`);
      this.o.ban(conn, why);
    }
    const u = this.unverified.get(conn);
    if (u && !job.done) {
      job.reject(
        new TrainerError(
          'E_VERIFY',
          `worker ${conn.id} (${conn.name}) was caught sending a wrong result (${why}), and ${u.count} result(s) of it since step ${u.sinceStep + 1} ` +
            `were used unverified (cluster.verify ${this.o.verify}): the weights may hold them, so the run stops without saving. ` +
            `Resume from a checkpoint of step ${u.sinceStep} or earlier, or start again with cluster.verify 1`,
        ),
      );
    }
  }

  /** A result for a part already decided (a slow copy, a straggler's answer): only a contradiction of verified bits matters. */
  private late(job: Job, part: Part, vote: Vote<WorkerConn>): void {
    const d = part.decided;
    if (d === null || sameResult(vote, d.vote)) return;
    if (d.verified) return this.punish(job, vote.from, `verification mismatch on ${partName(job, part)}: its late result differs from the one two workers agreed on`);
    this.o.log(`warning: worker ${vote.from.id} (${vote.from.name}) and worker ${d.vote.from.id} (${d.vote.from.name}) disagree on ${partName(job, part)} (the first, unverified, was used)`);
  }

  private diverged(job: Job, part: Part, votes: Vote<WorkerConn>[]): TrainerError {
    const who = votes.map((v) => `${v.from.id} (${v.from.name})`).join(' and ');
    const alone = votes.length === 1 ? ', and no other worker is there to confirm it' : '';
    return new TrainerError('E_DIVERGED', `worker(s) ${who} compute a NaN or infinite result for ${partName(job, part)}${alone}: the run diverged and stops without saving (lower train.lr?)`);
  }
}

