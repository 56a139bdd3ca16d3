/**
 * Why a worker's connection failed, in plain words, from the error the socket
 * reported: the ws client's 'error' event carries Node's network and TLS
 * errors (ECONNREFUSED, ENOTFOUND, certificate codes, OpenSSL's "wrong
 * version number" when a TLS client meets a plain server) and ws's own
 * "Unexpected server response" when something other than a WebSocket server
 * answers. Two cases it cannot tell alone: a plain ws:// client talking to a
 * TLS server just sees the connection reset, so the caller may ask
 * `speaksTls` before it says so; a TLS client's "wrong version number" may be
 * a plain server, or something else: `speaksPlainHttp` tells.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * One line, without the URL (the caller names it), ending with what to do. `caGiven`: the worker
 * has --ca, so an untrusted certificate is not one it lacks trust for but one its --ca does not
 * vouch for (it was told to give --ca FILE, which it had).
 */
export function describeConnectError(err: unknown, url: string, caGiven = false): string {
  const { host, hostPort, secure } = parts(url);
  const e = err as (Error & { code?: unknown }) | null | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = e?.message ?? String(err);
  const tag = code ? ` (${code})` : '';
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused at ${hostPort}${tag}: nothing listens there (is the coordinator running, on that port?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `host not found: ${host}${tag} (check the name, or use the coordinator's IP address)`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${hostPort} is unreachable${tag}: a wrong address, or a firewall in between (see Troubleshooting in README.md)`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_UNTRUSTED':
      return caGiven
        ? `TLS certificate not trusted (${message})${tag}: the --ca given is neither this certificate nor the CA that signed it (another coordinator's, or an older one?): give the coordinator's cluster.tls.cert, or its CA's`
        : `TLS certificate not trusted (${message})${tag}: give the coordinator's certificate, or the CA that signed it, with --ca FILE`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS certificate does not name ${host}${tag}: connect with a name or address listed in its subjectAltName, or reissue it with this one`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `TLS certificate of ${hostPort} is not valid now (${message})${tag}`;
  }
  if (metPlainServer(err, url)) return `${plainServerHint(url)}${tag}`;
  const http = /Unexpected server response: (\d+)/.exec(message);
  if (http?.[1] === '421') {
    return `${hostPort} answered HTTP 421 (misdirected), as a trainer dashboard's own port (--status-port) does: connect to the coordinator's workers' port (cluster.port, --port) instead`;
  }
  if (http) {
    return `${hostPort} answered HTTP ${http[1]}, not a WebSocket: not a trainer coordinator (protocol mismatch), or a proxy in between (check the port)`;
  }
  // Node's HTTP parser on an answer that is not HTTP at all (an SSH or SMTP banner, a database's port).
  if (code.startsWith('HPE_')) return `${hostPort} answered, but not in HTTP${tag}: not a trainer coordinator, another service on that port (check the port)`;
  if (code === 'ECONNRESET') return `${hostPort} reset the connection${tag} before answering${secure ? '' : `; if it serves TLS, connect with wss://${hostPort}`}`;
  return `${message}${tag}`;
}

/** OpenSSL's words when a TLS client reads a plain server's answer as a record. */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request/i;

/** Whether a wss:// connection failed with `err` as it does against a plain server (`speaksPlainHttp` tells for sure). */
export function metPlainServer(err: unknown, url: string): boolean {
  return parts(url).secure && NOT_TLS.test((err as Error | null)?.message ?? '');
}

/** What a TLS client that met a plain server should be told. */
export function plainServerHint(url: string): string {
  const { hostPort } = parts(url);
  return `the server at ${hostPort} does not speak TLS: connect with ws://${hostPort}, or give the coordinator cluster.tls.cert and cluster.tls.key`;
}

/**
 * Whether HOST:PORT answers the start of a TLS handshake in plain HTTP, within `timeoutMs`: a
 * plain server's "400 Bad Request" (a coordinator, or any Node HTTP server; one that answers no
 * request it cannot route still answers bytes that are not HTTP).
 */
export function speaksPlainHttp(url: string, timeoutMs = 2000): Promise<boolean> {
  const { host, port } = parts(url);
  return probe(netConnect({ host, port: Number(port) }), timeoutMs, (socket, done) => {
    // A TLS record header (handshake, TLS 1.0) and a ClientHello's first bytes.
    socket.once('connect', () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])));
    socket.once('data', (d: Buffer) => done(d.subarray(0, 7).toString('latin1') === 'HTTP/1.'));
    socket.once('end', () => done(false));
  });
}

/** Whether `socket` shows what `watch` looks for (it calls `done`) within `timeoutMs`; an error is no. The socket goes with the answer. */
function probe<S extends Socket>(socket: S, timeoutMs: number, watch: (socket: S, done: (yes: boolean) => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    watch(socket, done);
  });
}

/** What a plain client that met `speaksTls` should be told. */
export function tlsServerHint(url: string): string {
  const { hostPort } = parts(url);
  return `the server at ${hostPort} speaks TLS: connect with wss://${hostPort} (and --ca FILE for a private certificate)`;
}

/** Whether HOST:PORT completes a TLS handshake (any certificate), within `timeoutMs`. */
export function speaksTls(url: string, timeoutMs = 2000): Promise<boolean> {
  const { host, port } = parts(url);
  const socket = tlsConnect({ host, port: Number(port), rejectUnauthorized: false, ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }) });
  return probe(socket, timeoutMs, (s, done) => s.once('secureConnect', () => done(true)));
}

function parts(url: string): { host: string; port: string; hostPort: string; secure: boolean } {
  try {
    const u = new URL(url);
    const secure = u.protocol === 'wss:';
    const port = u.port || (secure ? '443' : '80');
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    return { host, port, hostPort: `${u.hostname}:${port}`, secure };
  } catch {
    return { host: url, port: '', hostPort: url, secure: url.startsWith('wss:') };
  }
}
