/**
 * Binding a server to cluster.host, where one spelled value, `all`, means every
 * address of both families: IPv6 and IPv4.
 *
 * Why not `::` or `0.0.0.0`: `0.0.0.0` is IPv4 only, so on an IPv6-only or
 * IPv6-first cluster (Kubernetes pod and Service addresses in IPv6) workers and
 * the readiness probe found nothing listening. `::` takes IPv4 too on Linux,
 * but only while the net.ipv6.bindv6only sysctl is 0 (a per-namespace setting),
 * and fails on a kernel without IPv6 (ipv6.disable=1: EAFNOSUPPORT), so a
 * manifest with it broke IPv4 clusters whose nodes boot that way. `all` binds
 * `::` as IPv6 only and `0.0.0.0` beside it, the same on every system, and
 * leaves out a family the machine does not have, as Node's listen() with no
 * host falls back to 0.0.0.0. Both sockets feed the one server: connections on
 * the second are handed to it as its own (its 'connection' event), so the
 * admission checks, TLS and close-all see every socket.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';

/** The cluster.host (`--host all`) that listens on every IPv6 and IPv4 address. */
export const ALL_ADDRESSES = 'all';

/** What a server is bound to. */
export interface Bound {
  port: number;
  /** The addresses it listens on: `host` itself, or `::` and/or `0.0.0.0` for `all`. */
  hosts: string[];
  /** Stops the second socket of `all` (the server's own close() stops the first). */
  closeExtra(): void;
}

/** Errors of a socket family this machine lacks, as opposed to a port in use or not allowed. */
const FAMILY_MISSING = new Set(['EAFNOSUPPORT', 'EPROTONOSUPPORT', 'EADDRNOTAVAIL']);

/** Tries for a port both families have free, for `all` on port 0: the kernel picks the IPv6 one alone. */
export const MAX_FREE_PORT_TRIES = 8;

/** How a server is put to listen: server.listen, as a promise (a parameter so tests can play a machine without one family). */
export type Listen = (server: Server, options: { port: number; host: string; ipv6Only?: boolean }) => Promise<void>;

/**
 * Binds `server` to `host` and `port` (0: a free one); rejects with the listen error, as
 * server.listen emits it (`all` on port 0 with no port free on both families in
 * MAX_FREE_PORT_TRIES tries: EADDRINUSE).
 */
export async function bindServer(server: Server, port: number, host: string, listenOn: Listen = listenServer): Promise<Bound> {
  if (host !== ALL_ADDRESSES) {
    await listenOn(server, { port, host });
    return { port: boundPort(server), hosts: [host], closeExtra: () => {} };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await listenOn(server, { port, host: '::', ipv6Only: true });
    } catch (err) {
      if (!FAMILY_MISSING.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await listenOn(server, { port, host: '0.0.0.0' });
      return { port: boundPort(server), hosts: ['0.0.0.0'], closeExtra: () => {} };
    }
    const bound = boundPort(server);
    const v4 = createServer();
    try {
      await listenOn(v4, { port: bound, host: '0.0.0.0' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (FAMILY_MISSING.has(code)) return { port: bound, hosts: ['::'], closeExtra: () => {} };
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (port === 0 && code === 'EADDRINUSE' && attempt < MAX_FREE_PORT_TRIES) continue;
      throw err;
    }
    v4.on('connection', (socket) => server.emit('connection', socket));
    // An accept error there is the server's, as one on its own socket is.
    v4.on('error', (err) => server.emit('error', err));
    return { port: bound, hosts: ['::', '0.0.0.0'], closeExtra: () => void v4.close() };
  }
}

/** The real Listen: server.listen, resolved once listening, rejected with its error. */
export const listenServer: Listen = (server, options) => {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
};

function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
