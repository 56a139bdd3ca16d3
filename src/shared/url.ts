/** URLs as messages and stored configs show them. */

/**
 * A URL with its user and password (`https://user:secret@host/…`, a token as the user) shown as
 * `***`: for messages, and for the config a run keeps (config.json, checkpoints, reports). Written
 * back from the parsed URL, so every spelling the parser takes (`http:/user:pw@host`, leading
 * spaces) is hidden too; text that does not parse as a URL is returned as it is.
 */
export function hideCredentials(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username === '' && u.password === '') return url;
  u.username = HIDDEN;
  u.password = '';
  return u.toString();
}

/** What hideCredentials puts in the user's place. */
export const HIDDEN = '***';
