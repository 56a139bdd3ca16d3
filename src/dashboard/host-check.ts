/**
 * Which Host headers the dashboard answers, against DNS rebinding: a page on
 * evil.example whose name is re-pointed at 127.0.0.1 (or at the coordinator's
 * address) is same-origin with itself, so the browser lets it read our
 * responses — but it still sends `Host: evil.example`. Answering only names we
 * know closes that, as webpack-dev-server and vite do with `allowedHosts`.
 *
 * Allowed without asking: IP literals (a page at http://10.0.0.5/ has that
 * origin, not an attacker's, so there is nothing to rebind), `localhost` and
 * `*.localhost` (browsers resolve them to loopback themselves, RFC 6761), the
 * host the server was told to listen on, this machine's hostname, and any name
 * given with `--allowed-host` (`.example.com` also admits its subdomains).
 *
 * A request with no Host header (or an empty one) is answered: HTTP/1.1
 * requires the header and node's server already refuses HTTP/1.1 without it
 * (400), so only an HTTP/1.0 client (`curl -0`, an old probe) gets here, and
 * the attack needs a browser, which always sends the name it resolved.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { TrainerError } from '../shared/errors.js';
import { ALL_ADDRESSES } from '../transports/ws/bind.js';

/** True when a request with this Host header (undefined = none) may be answered. */
export type HostCheck = (hostHeader: string | undefined) => boolean;

/** The name in a Host header, lower case, without port, IPv6 brackets or a trailing dot; null when malformed. */
export function hostOfHeader(header: string): string | null {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0 || !/^(:\d*)?$/.test(h.slice(end + 1))) return null;
    const ip = h.slice(1, end);
    return isIP(ip) === 6 ? ip : null;
  }
  // More than one colon: a bare IPv6 address — not valid in a Host header, but not a name either.
  if (h.indexOf(':') !== h.lastIndexOf(':')) return isIP(h) === 6 ? h : null;
  const [name = '', port] = h.split(':');
  if (port !== undefined && !/^\d*$/.test(port)) return null;
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare === '' ? null : bare;
}

/** Whether a name (as hostOfHeader gives it) is allowed by default or by one of `extra`. */
export function isAllowedHostName(name: string, extra: readonly string[]): boolean {
  if (isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  for (const e of extra) {
    const allowed = e.toLowerCase();
    if (name === allowed) return true;
    if (allowed.startsWith('.') && (name === allowed.slice(1) || name.endsWith(allowed))) return true;
  }
  return false;
}

/** The check for a server listening on `listenHost`, with this machine's hostname and `extra` names allowed too. */
export function hostCheck(listenHost: string, extra: readonly string[] = [], machine: string = hostname()): HostCheck {
  // `all` is a way to listen (every address), not a name anyone reaches the page by.
  const names = [listenHost, machine, ...extra].filter((n) => n !== '' && n !== ALL_ADDRESSES);
  return (header) => {
    if (header === undefined || header.trim() === '') return true;
    const name = hostOfHeader(header);
    return name !== null && isAllowedHostName(name, names);
  };
}

/** The one line a refused request gets. */
export function refusedHostMessage(header: string): string {
  const name = hostOfHeader(header);
  // Only a name --allowed-host takes is suggested ("a b" was, and the flag then refused it).
  if (name === null || !ALLOWED_HOST_NAME.test(name)) return `trainer dashboard: Host ${JSON.stringify(header.slice(0, 100))} is not a valid host name\n`;
  return `trainer dashboard: Host ${JSON.stringify(name)} is not allowed (DNS rebinding guard); to allow it, start with --allowed-host ${name}\n`;
}

/** What --allowed-host takes: a name (or .domain), lower case, no scheme, port or path. */
const ALLOWED_HOST_NAME = /^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/;

/** `--allowed-host` (repeatable) as a list of lower-case names: no scheme, port or path. */
export function parseAllowedHosts(v: unknown): string[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    const name = typeof x === 'string' ? x.trim().toLowerCase() : '';
    if (!ALLOWED_HOST_NAME.test(name)) {
      throw new TrainerError('E_USAGE', `--allowed-host must be a host name such as dash.example.com or .example.com, got ${JSON.stringify(x)}`);
    }
    return name.endsWith('.') ? name.slice(0, -1) : name;
  });
}

/** `--status-port` as a port number. */
export function parseStatusPort(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
    throw new TrainerError('E_USAGE', `--status-port must be a port number (0-65535), got ${JSON.stringify(v)}`);
  }
  return v;
}
