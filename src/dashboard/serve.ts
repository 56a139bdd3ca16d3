/**
 * The dashboard on a port of its own (`--status-port`): a plain HTTP server,
 * or HTTPS with the coordinator's certificate, bound to the coordinator's host
 * (`all`: every IPv6 and IPv4 address, as the workers' port),
 * answering the dashboard's paths and 404 to anything else.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
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
