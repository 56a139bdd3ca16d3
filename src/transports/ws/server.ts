/**
 * The listening socket: plain HTTP or, with a certificate and key, HTTPS, and
 * a ws server on it whose frame limit is checked before a frame is buffered:
 * MAX_FRAME_BYTES_BEFORE_READY until the worker is ready, then maxPayloadBytes.
 * Every connection passes admission.ts first (descriptor budget, caps and
 * timeout of unauthenticated sockets).
 * Plain HTTP requests (not upgrades) go to `onRequest` when given (the
 * dashboard); whatever it leaves unanswered gets 426 Upgrade Required, but
 * for /healthz, always 200 ok.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket } from 'node:net';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { createRequire } from 'node:module';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { DEFAULT_CONFIG } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import { Admission, type AdmissionLimits } from './admission.js';
import { ALL_ADDRESSES, bindServer, MAX_FREE_PORT_TRIES, type Bound } from './bind.js';
import { ThrottledLog } from './throttled-log.js';
import { urlHost } from '../../shared/url.js';

// ws is CommonJS: required, since importing it makes Node scan it for export names (~0.1 s of CPU a start).
const { WebSocketServer } = createRequire(import.meta.url)('ws') as { WebSocketServer: typeof WsServer };
type WebSocketServer = WsServer;

/** Frames before a worker is ready are a hello, a dataRequest, a ready, a pong or a leave: anything bigger is hostile. */
export const MAX_FRAME_BYTES_BEFORE_READY = 1024;

/** The maxPayloadBytes of each connection's server, for allowFullFrames. */
const fullFrameBytes = new WeakMap<WebSocket, number>();

/**
 * Lets `ws` send frames up to its server's maxPayloadBytes (a gradient) from now on. ws checks a
 * frame's announced length against its receiver's `_maxPayload` as it parses the header, before
 * it buffers the payload, but sets that once for all connections (the server's maxPayload) and
 * has no public way to change it for one. So the server starts every connection at
 * MAX_FRAME_BYTES_BEFORE_READY, and this raises it on the internal: it throws on a ws that keeps
 * it elsewhere (every joining test fails), where workers would otherwise be stuck at 1 kB or
 * strangers let in at the model's size.
 */
export function allowFullFrames(ws: WebSocket): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  const bytes = fullFrameBytes.get(ws);
  if (receiver === undefined || typeof receiver._maxPayload !== 'number' || bytes === undefined) {
    throw new TrainerError('E_INTERNAL', 'this version of ws has no receiver._maxPayload: the per-connection frame limit (server.ts) needs updating');
  }
  receiver._maxPayload = bytes;
}

/** Answers a plain HTTP request and returns true, or returns false to leave it to the caller. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxPayloadBytes: number;
  tls: { cert: string | null; key: string | null };
  /** Called for every plain HTTP request before the 426 reply; must not throw. */
  onRequest?: RequestHandler;
  /** Caps and timeout of sockets until they authenticate; the config's defaults when absent. */
  admission?: AdmissionLimits;
  /** Where refusals are logged. */
  log?: (line: string) => void;
}

export interface Listening {
  wss: WebSocketServer;
  server: Server;
  /** ws://host:port or wss://host:port, with the port actually bound: the first of `urls`. */
  url: string;
  /** One such URL per address listened on: `--host all` has ws://[::]:port and ws://0.0.0.0:port. */
  urls: string[];
  admission: Admission;
  port: number;
  /** Largest frame of a ready worker. */
  maxPayloadBytes: number;
  close(): Promise<void>;
}

/** E_CONFIG for a port that cannot be bound, with what to do about the usual causes. */
export function listenError(what: string, host: string, port: number, err: NodeJS.ErrnoException): TrainerError {
  const why =
    err.code === 'EADDRINUSE'
      ? port === 0
        ? // all on port 0 (bind.ts): each port the IPv6 socket got was taken on IPv4.
          `no port was free on both IPv6 and IPv4 in ${MAX_FREE_PORT_TRIES} tries: give a port`
        : `port ${port} is in use (another coordinator or dashboard?): choose another port`
      : err.code === 'EACCES'
        ? `not allowed to use port ${port} (ports below 1024 need privileges): choose another port`
        : err.code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine`
          : // The name did not resolve (the listen's own lookup): "ENOTFOUND" alone said neither what nor what to do.
            err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EAI_FAIL'
            ? `${host} is not a name this machine resolves (${err.code}): give an address or name of this machine (${ALL_ADDRESSES} for every address, IPv6 and IPv4)`
            : (err.code ?? err.message);
  const where = host === ALL_ADDRESSES ? `every address (${ALL_ADDRESSES}), port ${port}` : `${urlHost(host)}:${port}`;
  return new TrainerError('E_CONFIG', `cannot ${what} on ${where}: ${why}`);
}

/**
 * cluster.tls's certificate and key, read and checked: E_CONFIG naming the file and what is wrong
 * (not PEM, a key of another certificate, expired). Called before anything starts; a bad file was
 * E_INTERNAL with OpenSSL's own words ("PEM routines::no start line") once the data had loaded.
 */
export function tlsMaterial(tls: { cert: string | null; key: string | null }): { cert: Buffer; key: Buffer } | null {
  const { cert, key } = tls;
  if ((cert === null) !== (key === null)) throw new TrainerError('E_CONFIG', 'cluster.tls needs both cert and key, or neither');
  if (cert === null || key === null) return null;
  // Each named: "cannot read cluster.tls files: EISDIR: illegal operation on a directory" said neither which nor what.
  const read = (which: 'cert' | 'key', file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EISDIR' ? 'it is a directory' : e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message;
      throw new TrainerError('E_CONFIG', `cannot read cluster.tls.${which} ${file}: ${why}`);
    }
  };
  const material = { cert: read('cert', cert), key: read('key', key) };
  let x509: X509Certificate;
  try {
    // X509Certificate reads DER too, which the TLS server does not: the key was blamed ("does not go with it").
    if (!material.cert.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
    x509 = new X509Certificate(material.cert);
  } catch {
    const der = material.cert[0] === 0x30 ? ` (it looks like DER: openssl x509 -inform der -in ${cert} -out cert.pem)` : '';
    throw new TrainerError('E_CONFIG', `cluster.tls.cert ${cert} is not a PEM certificate (-----BEGIN CERTIFICATE-----)${der}`);
  }
  try {
    createPrivateKey(material.key);
  } catch {
    // An encrypted key is a PEM private key too: it needs a passphrase the coordinator is never given.
    if (/-----BEGIN (ENCRYPTED PRIVATE KEY|RSA PRIVATE KEY-----\s*Proc-Type: 4,ENCRYPTED)/.test(String(material.key))) {
      throw new TrainerError('E_CONFIG', `cluster.tls.key ${key} is encrypted with a passphrase: give the key unencrypted (openssl pkey -in ${key} -out key.pem), readable by the coordinator only`);
    }
    throw new TrainerError('E_CONFIG', `cluster.tls.key ${key} is not a PEM private key (-----BEGIN PRIVATE KEY-----)`);
  }
  try {
    createSecureContext(material);
  } catch (err) {
    const why = /key values mismatch/.test((err as Error).message) ? 'is not the key of that certificate' : `does not go with it (${(err as Error).message})`;
    throw new TrainerError('E_CONFIG', `cluster.tls.key ${key} ${why} (cluster.tls.cert ${cert})`);
  }
  const now = Date.now();
  if (Date.parse(x509.validTo) < now) throw new TrainerError('E_CONFIG', `cluster.tls.cert ${cert} expired on ${x509.validTo}: workers would refuse it`);
  if (Date.parse(x509.validFrom) > now) throw new TrainerError('E_CONFIG', `cluster.tls.cert ${cert} is not valid before ${x509.validFrom}: workers would refuse it`);
  return material;
}

/** Why a client's TLS handshake failed, in plain words (OpenSSL's alert names, the client's side). */
function handshakeFailure(err: Error & { code?: string }): string {
  const m = err.message;
  if (/alert (unknown ca|bad certificate|certificate unknown|unsupported certificate)/i.test(m)) {
    return 'the worker does not trust this certificate (give it --ca with this certificate, or the CA that signed it)';
  }
  if (/alert certificate expired/i.test(m)) return 'the worker finds this certificate expired (cluster.tls.cert): renew it';
  if (/http request|wrong version number|unknown protocol|unexpected message/i.test(m)) return 'not a TLS client (a ws:// worker? connect with wss://)';
  // A Node client (a worker) that does not trust the certificate just hangs up: no alert says why.
  if (err.code === 'ECONNRESET' || /socket hang up|disconnected before/i.test(m)) {
    return 'the client closed the connection during the handshake (as a worker that does not trust this certificate does: give it --ca with this certificate, or the CA that signed it)';
  }
  return err.code ? `${m} (${err.code})` : m;
}

export async function listen(o: ListenOptions): Promise<Listening> {
  const material = tlsMaterial(o.tls);
  let server: Server;
  if (material !== null) {
    server = createHttpsServer(material) as unknown as Server;
  } else {
    server = createHttpServer();
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (o.onRequest?.(req, res)) return;
    } catch {
      // A page that cannot be rendered must not take the coordinator down.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end('internal error\n');
    }
    // The port's liveness with or without the dashboard (--status-port, --no-dashboard): a Kubernetes
    // readiness probe asks it here, and got 426 when the dashboard was elsewhere or off.
    if ((req.url ?? '/').split('?')[0] === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(req.method === 'HEAD' ? undefined : 'ok\n');
    }
    res.writeHead(426, { 'content-type': 'text/plain' }).end('trainer coordinator: connect with a WebSocket worker\n');
  });
  const c = DEFAULT_CONFIG.cluster;
  const limits = o.admission ?? {
    maxUnauthenticated: c.maxUnauthenticated,
    maxUnauthenticatedPerAddress: c.maxUnauthenticatedPerAddress,
    handshakeTimeoutMs: c.handshakeTimeoutMs,
  };
  const admission = new Admission(server, limits, o.log ?? (() => {}));
  if (material !== null) {
    // A worker that does not trust the certificate (or finds it expired), or a plain ws:// client,
    // failed its handshake without a word here: a run waiting for its workers gave no hint why.
    // At most a line every few seconds: anyone who reaches the port can fail a handshake.
    const failed = new ThrottledLog(o.log ?? (() => {}), (count, last) => `${count} TLS handshake(s) failed since the last such line, the last ${last}`);
    // The peer's address as the connection is accepted. A client that hangs up mid-handshake (a
    // worker that does not trust the certificate: the failure seen most) has left by the time
    // tlsClientError reports it, and its TLS socket no longer knows the address: every such line
    // said where from only for clients still connected, never for those. Node keeps the accepted
    // socket as the TLS socket's `_parent` (not a documented field: without it the line names no
    // address, and the TLS test fails).
    const peers = new WeakMap<Socket, string>();
    server.on('connection', (raw: Socket) => {
      if (raw.remoteAddress !== undefined) peers.set(raw, raw.remoteAddress);
    });
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      const parent = (socket as TLSSocket & { _parent?: unknown })._parent;
      const raw = parent instanceof Socket ? parent : socket;
      // Cut here, not failed by the client: one refused at a cap is logged as refused already, and
      // one cut at the handshake timeout was blamed on a worker that does not trust the certificate.
      const cut = admission.cutHere(raw);
      if (cut === 'refused') return;
      const address = socket.remoteAddress ?? peers.get(raw);
      const from = address === undefined ? '' : `from ${urlHost(address)}: `;
      const why =
        cut === 'timed out'
          ? `no handshake within cluster.handshakeTimeoutMs (${limits.handshakeTimeoutMs} ms), so cut here (a client that connects and sends nothing, or too little: a port scan, a stalled link)`
          : handshakeFailure(err);
      failed.note(`${from}${why}`);
    });
  }
  const wss = new WebSocketServer({ server, maxPayload: MAX_FRAME_BYTES_BEFORE_READY, perMessageDeflate: false, clientTracking: true });
  wss.on('connection', (ws: WebSocket) => fullFrameBytes.set(ws, o.maxPayloadBytes));
  // ws re-emits the server's errors here: unheard, a port in use was an uncaught exception. One
  // while listening is the promise's below; any later one is logged.
  wss.on('error', (err: Error) => {
    if (server.listening) o.log?.(`workers' port: ${err.message}`);
  });
  let bound: Bound;
  try {
    bound = await bindServer(server, o.port, o.host);
  } catch (err) {
    throw listenError('listen for workers', o.host, o.port, err as NodeJS.ErrnoException);
  }
  const { port } = bound;
  const scheme = material !== null ? 'wss' : 'ws';
  const urls = bound.hosts.map((h) => `${scheme}://${urlHost(h)}:${port}`);
  return {
    wss,
    server,
    admission,
    maxPayloadBytes: o.maxPayloadBytes,
    url: urls[0] ?? '',
    urls,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        bound.closeExtra();
        wss.close(() => server.close(() => resolve()));
        server.closeAllConnections?.();
      }),
  };
}
