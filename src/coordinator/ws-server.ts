/**
 * The listening socket: plain HTTP or, with a certificate and key, HTTPS, and
 * a ws server on it whose maxPayload is checked before a frame is buffered.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { TrainerError } from '../shared/errors.js';

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxPayloadBytes: number;
  tls: { cert: string | null; key: string | null };
}

export interface Listening {
  wss: WebSocketServer;
  server: Server;
  /** ws://host:port or wss://host:port, with the port actually bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(o: ListenOptions): Promise<Listening> {
  const { cert, key } = o.tls;
  if ((cert === null) !== (key === null)) throw new TrainerError('E_CONFIG', 'cluster.tls needs both cert and key, or neither');
  let server: Server;
  if (cert !== null && key !== null) {
    let material: { cert: Buffer; key: Buffer };
    try {
      material = { cert: readFileSync(cert), key: readFileSync(key) };
    } catch (err) {
      throw new TrainerError('E_CONFIG', `cannot read cluster.tls files: ${(err as Error).message}`);
    }
    server = createHttpsServer(material) as unknown as Server;
  } else {
    server = createHttpServer();
  }
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('trainer coordinator: connect with a WebSocket worker\n');
  });
  const wss = new WebSocketServer({ server, maxPayload: o.maxPayloadBytes, perMessageDeflate: false, clientTracking: true });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new TrainerError('E_CONFIG', `cannot listen on ${o.host}:${o.port}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = cert !== null ? 'wss' : 'ws';
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    wss,
    server,
    url: `${scheme}://${hostPart}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => server.close(() => resolve()));
        server.closeAllConnections?.();
      }),
  };
}
