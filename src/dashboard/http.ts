/**
 * The coordinator's live dashboard over HTTP: `/` a page that refreshes itself
 * from `/status.json` and `/charts` every second (no reload, no external
 * resources), `/metrics` in the Prometheus text format, `/healthz` (for any Host). A request handler that
 * any http.Server can mount: it answers its own paths and returns false for
 * the rest (e.g. the WebSocket server's upgrade path). A request whose Host
 * the check refuses gets 403 whatever its path but /healthz (see host-check.ts); WebSocket
 * upgrades never come here, so workers are not subject to it.
 */
import type { RequestHandler } from '../transports/ws/server.js';
import { refusedHostMessage, type HostCheck } from './host-check.js';
import { dashboardCharts } from './charts.js';
import { DASHBOARD_PAGE } from './page.js';
import { prometheusText, type DashboardState } from './state.js';

export type { RequestHandler };

const PATHS = new Set(['/', '/status.json', '/charts', '/metrics', '/healthz']);

export function dashboardHandler(state: DashboardState, hostAllowed: HostCheck): RequestHandler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // Liveness says nothing but "ok", whatever the Host: a probe or monitor by the Service's DNS name
    // got 403 while the dashboard shared the port (and 200 with it elsewhere or off).
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : 'ok\n');
      return true;
    }
    const host = req.headers.host;
    // Node keeps the first of several: `Host: 127.0.0.1` then `Host: evil.example` passed (RFC 9112: 400).
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === 'host') hosts++;
    if (hosts > 1) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : 'trainer dashboard: more than one Host header\n');
      return true;
    }
    if (!hostAllowed(host)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : refusedHostMessage(host ?? ''));
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!PATHS.has(path)) return false;
      // Read-only: its own paths refuse other methods as such (RFC 9110: 405 names the allowed ones).
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${req.method ?? 'this method'} is not allowed here: the dashboard is read-only (GET, HEAD)\n`);
      return true;
    }
    const send = (type: string, body: string) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/':
        send('text/html; charset=utf-8', DASHBOARD_PAGE);
        return true;
      case '/status.json':
        send('application/json', JSON.stringify(state.snapshot()));
        state.served(path);
        return true;
      case '/charts':
        send('text/html; charset=utf-8', dashboardCharts(state.snapshot()));
        state.served(path);
        return true;
      case '/metrics':
        send('text/plain; version=0.0.4; charset=utf-8', prometheusText(state.snapshot()));
        return true;
      default:
        return false;
    }
  };
}
