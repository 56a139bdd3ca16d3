/** URLs as messages and stored configs show them. */

/**
 * A URL with its user and password (`https://user:secret@host/…`, a token as the user) shown as
 * `***`: for messages, and for the config a run keeps (config.json, checkpoints, reports). Written
 * back from the parsed URL, so every spelling the parser takes (`http:/user:pw@host`, leading
 * spaces) is hidden too; in text that does not parse as a URL, all from the scheme to the last @.
 */
export function hideCredentials(url: string): string {
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    // Not a URL: a password with an unescaped / ? or # (`https://alice:pa#ss@host/…`) makes it
    // unparsable, and it was printed and stored as typed.
  }
  // `https://alice:123/pw@host/…` parses, as host alice, port 123 and a path with an @ in it: a
  // password that starts with digits and holds a / is in doubt too.
  if (u !== null && u.username === '' && u.port !== '' && `${u.pathname}${u.search}${u.hash}`.includes('@')) u = null;
  if (u === null) {
    // Whatever stands between the scheme and the last @ may be a user and password: hidden, and
    // the host and path with it when in doubt.
    return url.replace(/^(\s*[a-z][a-z0-9+.-]*:\/*)[^]*@/i, `$1${HIDDEN}@`);
  }
  if (u.username === '' && u.password === '') return url;
  u.username = HIDDEN;
  u.password = '';
  return u.toString();
}

/**
 * `url`, resolved against `base` where given, parsed, if it is an http:// or https:// URL; null
 * for another scheme (ftp://, file://) and for text that does not parse: the one test of data.url,
 * of the URL a download opens and of where a redirect leads.
 */
export function httpUrl(url: string, base?: string): URL | null {
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    return null;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
}

/** How a message says what httpUrl refuses. */
export const NOT_HTTP_URL = 'not an http:// or https:// URL';

/** What hideCredentials puts in the user's place. */
export const HIDDEN = '***';

/** A host as a URL or an address with a port writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
