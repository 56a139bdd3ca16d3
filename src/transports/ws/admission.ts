/**
 * Admission of TCP connections to the coordinator's port (and the dashboard's),
 * decided when the connection is accepted, before a byte of it is read:
 *
 *   - every socket counts against a budget of file descriptors taken from the
 *     process's limit (`ulimit -n`) less what is open at start and a reserve
 *     for the run's own files, so that sockets can never take the descriptor
 *     a checkpoint or metrics write needs: past it, a new socket is closed at
 *     once;
 *   - sockets that have not authenticated (every one, until a worker proves
 *     the token) are capped in all and per address, the excess closed at
 *     once, and each is cut after the handshake timeout, also one that never
 *     sends a byte;
 *   - a plain HTTP client (a request came on its socket: the dashboard, a
 *     probe) leaves those caps for caps of its own, of the same sizes, and
 *     is cut after the handshake timeout since its last answer, never while
 *     a request is being answered: one that keeps asking keeps its
 *     keep-alive socket, and never holds the slots workers need to join
 *     (four addresses polling /healthz held them all).
 *
 * Refusals are logged at most once per 10 s, with their count (throttled-log.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { ThrottledLog } from './throttled-log.js';

export interface AdmissionLimits {
  /** Sockets not yet authenticated, in all (cluster.maxUnauthenticated). */
  maxUnauthenticated: number;
  /** Sockets not yet authenticated from one address (cluster.maxUnauthenticatedPerAddress). */
  maxUnauthenticatedPerAddress: number;
  /** A socket not authenticated within this time is cut (cluster.handshakeTimeoutMs). */
  handshakeTimeoutMs: number;
}

/** Descriptors kept for the run's own files (checkpoint, metrics, model, data, logs) and the runtime. */
export const RESERVED_FDS = 64;
/** A socket handed to the WebSocket layer gets this long past the handshake timeout to be closed there, with its close code. */
const UPGRADED_GRACE_MS = 2000;
/** A plain HTTP client's socket with a request still being answered is cut after this (or the handshake timeout, if longer). */
const ANSWERING_MS = 30_000;

/** The soft limit on open files and how many are open now, where the system tells (Linux /proc); null elsewhere. */
export function fileDescriptors(): { limit: number; open: number } | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return null;
    return { limit: Number(m[1]), open: readdirSync('/proc/self/fd').length };
  } catch {
    return null;
  }
}

/** Sockets of every guarded server in this process, against one descriptor budget. */
const shared = { open: 0, budget: -1 };

function socketBudget(): number {
  if (shared.budget < 0) {
    const fds = fileDescriptors();
    // At least a few sockets, so that workers can still join under a tiny limit.
    shared.budget = fds ? Math.max(8, fds.limit - fds.open - RESERVED_FDS) : Number.POSITIVE_INFINITY;
  }
  return shared.budget;
}

interface Pending {
  address: string;
  timer: NodeJS.Timeout | undefined;
  upgraded: boolean;
  /** Requests on the socket not yet answered (a plain HTTP client's); it is not cut while there are any. */
  answering: number;
}

/** Sockets of one kind by `address:port` (the key the raw and the TLS socket share), and how many from each address. */
class Capped {
  readonly sockets = new Map<string, Pending>();
  private readonly perAddress = new Map<string, number>();

  /** Why a socket from `address` does not fit, or null. */
  full(address: string, limits: AdmissionLimits, what: string): string | null {
    if (this.sockets.size >= limits.maxUnauthenticated) return `${this.sockets.size} ${what}, cluster.maxUnauthenticated`;
    const n = this.perAddress.get(address) ?? 0;
    return n >= limits.maxUnauthenticatedPerAddress ? `${n} ${what} from ${address}, cluster.maxUnauthenticatedPerAddress` : null;
  }

  add(key: string, p: Pending): void {
    this.sockets.set(key, p);
    this.perAddress.set(p.address, (this.perAddress.get(p.address) ?? 0) + 1);
  }

  remove(key: string): void {
    const p = this.sockets.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.sockets.delete(key);
    const n = (this.perAddress.get(p.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(p.address, n);
    else this.perAddress.delete(p.address);
  }
}

export class Admission {
  /** Sockets not authenticated, and not (yet) known as plain HTTP clients: what a worker's connection is until it proves the token. */
  private readonly pending = new Capped();
  /** Plain HTTP clients: a request came on the socket. */
  private readonly http = new Capped();
  private readonly refusals: ThrottledLog;
  /**
   * Sockets this side cut, and why: a TLS socket whose raw socket is cut mid-handshake reports it
   * as a failed handshake (the peer "closed the connection"), which the workers' port logged as a
   * worker that does not trust the certificate, naming --ca, for a socket refused at a cap (logged
   * as such already) or one cut for sending no handshake in time (a port scan, a stalled client).
   */
  private readonly cut = new WeakMap<Socket, 'refused' | 'timed out'>();
  readonly budget: number;

  constructor(
    server: Server,
    private readonly limits: AdmissionLimits,
    log: (line: string) => void,
  ) {
    this.refusals = new ThrottledLog(log, (count, why) => `refused ${count} connection(s) since the last such line: ${why}`);
    this.budget = socketBudget();
    server.on('connection', (socket: Socket) => this.admit(socket));
    // A plain HTTP client (the dashboard, a probe) that keeps asking keeps its socket: the cut
    // after handshakeTimeoutMs counts from its last answer. A page polling every second over
    // keep-alive had its socket reset every 10 s, requests in flight with it.
    server.on('request', (req: { socket: Socket }, res: { once(event: 'close', f: () => void): unknown }) => this.asked(req.socket, res));
  }

  /** Whether this side cut `socket` (the raw socket a connection was accepted as): refused at a cap, or timed out. */
  cutHere(socket: Socket): 'refused' | 'timed out' | undefined {
    return this.cut.get(socket);
  }

  /** Sockets open now, across every guarded server of the process. */
  static get openSockets(): number {
    return shared.open;
  }

  get unauthenticated(): number {
    return this.pending.sockets.size;
  }

  /** The WebSocket layer took the socket: it closes it with a close code at the handshake timeout, so the cut here waits a little longer. */
  upgraded(socket: Socket): void {
    const p = this.pending.sockets.get(keyOf(socket)) ?? this.http.sockets.get(keyOf(socket));
    if (p) p.upgraded = true;
  }

  /**
   * A request came on the socket: a plain HTTP client, counted as one from its first request (past
   * the caps for those, it is closed). It is not cut while a request is being answered, and its
   * time to be cut starts again when the last one has been (a slow answer under load, or a client
   * that asks again at once, no longer meets a cut that its previous request started).
   */
  private asked(socket: Socket, res: { once(event: 'close', f: () => void): unknown }): void {
    const key = keyOf(socket);
    let p = this.http.sockets.get(key);
    if (p === undefined) {
      const first = this.pending.sockets.get(key);
      if (!first || first.upgraded) return;
      this.pending.remove(key);
      const why = this.http.full(first.address, this.limits, 'plain HTTP connections');
      if (why !== null) {
        this.cut.set(socket, 'refused');
        socket.destroy();
        return this.refusals.note(why);
      }
      p = { address: first.address, upgraded: false, timer: undefined, answering: 0 };
      this.http.add(key, p);
    }
    const asking = p;
    asking.answering++;
    // A client that never reads its answer must not keep the socket for ever either.
    clearTimeout(asking.timer);
    asking.timer = setTimeout(() => this.expire(socket, asking), Math.max(this.limits.handshakeTimeoutMs, ANSWERING_MS));
    asking.timer.unref();
    res.once('close', () => {
      if (--asking.answering === 0 && !asking.upgraded && !socket.destroyed) this.cutLater(socket, asking);
    });
  }

  /** The socket is cut handshakeTimeoutMs from now (unless released before): its earlier cut is called off. */
  private cutLater(socket: Socket, p: Pending): void {
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.expire(socket, p), this.limits.handshakeTimeoutMs);
    p.timer.unref();
  }

  /** The socket's peer proved the token: no longer capped or timed out here. */
  authenticated(socket: Socket): void {
    this.release(keyOf(socket));
  }

  private admit(socket: Socket): void {
    // Reset by its peer before it was accepted (a burst of them while this process was busy): no
    // address is left to read, and it closes on its own. Counted, they were all from the address
    // "?" under one key: one closing as the next came in released the next one's entry, which left
    // the count of "?" one too high for good, and bursts were logged as "refused … unauthenticated
    // connections from ?, cluster.maxUnauthenticatedPerAddress".
    if (socket.remoteAddress === undefined) return void socket.destroy();
    shared.open++;
    const key = keyOf(socket);
    socket.once('close', () => {
      shared.open--;
      this.release(key);
    });
    const address = socket.remoteAddress;
    const why =
      shared.open > this.budget
        ? `${shared.open - 1} sockets open, the most that fit under the open-file limit`
        : this.pending.full(address, this.limits, 'unauthenticated connections');
    if (why !== null) {
      this.cut.set(socket, 'refused');
      socket.destroy();
      return this.refusals.note(why);
    }
    const p: Pending = { address, upgraded: false, timer: undefined, answering: 0 };
    this.cutLater(socket, p);
    this.pending.add(key, p);
  }

  private expire(socket: Socket, p: Pending): void {
    if (p.upgraded) {
      p.upgraded = false;
      p.timer = setTimeout(() => this.expire(socket, p), UPGRADED_GRACE_MS);
      p.timer.unref();
      return;
    }
    this.cut.set(socket, 'timed out');
    socket.destroy();
  }

  private release(key: string): void {
    this.pending.remove(key);
    this.http.remove(key);
  }

}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}
