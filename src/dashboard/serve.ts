/**
 * The dashboard on a port of its own (`--status-port`): a plain HTTP server,
 * or HTTPS with the coordinator's certificate, bound to the coordinator's host
 * (`all`: every IPv6 and IPv4 address, as the workers' port),
 * answering the dashboard's paths and 404 to anything else.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { listenError, tlsMaterial, type RequestHandler } from '../transports/ws/server.js';
import { Admission } from '../transports/ws/admission.js';
import { bindServer, type Bound } from '../transports/ws/bind.js';
import { DEFAULT_CONFIG } from '../shared/config.js';
import { urlHost } from '../shared/url.js';

export interface ServedDashboard {
  /** http(s)://host:port/ with the port actually bound. */
  url: string;
  /** Every address it listens on (`all`: IPv6 and IPv4, on the one port), `url` first. */
  urls: string[];
  close(): Promise<void>;
}

export async function serveDashboard(
  handler: RequestHandler,
  host: string,
  port: number,
  tls: { cert: string | null; key: string | null },
): Promise<ServedDashboard> {
  const onRequest: RequestHandler = (req, res) => {
    try {
      if (handler(req, res)) return true;
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
      return true;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return true;
  };
  let server: Server;
  const material = tlsMaterial(tls);
  if (material !== null) {
    server = createHttpsServer(material, onRequest) as unknown as Server;
  } else {
    server = createHttpServer(onRequest);
  }
  // A worker pointed at this port (the dashboard's number given as the workers'): a WebSocket
  // request got the page, 200, and the worker said "answered HTTP 200, not a WebSocket: not a
  // trainer coordinator (protocol mismatch)". 421 (this server is not the one for it) is what it
  // names as this mix-up (connect-error.ts).
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    const body = 'trainer dashboard: this is the dashboard\'s own port (--status-port); workers connect to the coordinator\'s port (cluster.port)\n';
    socket.end(`HTTP/1.1 421 Misdirected Request\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  // Idle and excess sockets are cut as on the workers' port: nobody authenticates here.
  const { maxUnauthenticated, maxUnauthenticatedPerAddress, handshakeTimeoutMs } = DEFAULT_CONFIG.cluster;
  new Admission(server, { maxUnauthenticated, maxUnauthenticatedPerAddress, handshakeTimeoutMs }, () => {});
  let bound: Bound;
  try {
    bound = await bindServer(server, port, host);
  } catch (err) {
    throw listenError('serve the dashboard', host, port, err as NodeJS.ErrnoException);
  }
  const at = (h: string) => `${tls.cert !== null ? 'https' : 'http'}://${urlHost(h)}:${bound.port}/`;
  const urls = bound.hosts.map(at);
  return {
    url: urls[0] ?? at(host),
    urls,
    close: () =>
      new Promise<void>((resolve) => {
        bound.closeExtra();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
