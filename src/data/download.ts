/**
 * Getting the published archive onto disk: an HTTP(S) download with progress
 * and an md5 check, and extraction with the `tar` package (no shell).
 *
 * Both steps are all-or-nothing. The download streams into a temporary file
 * next to the destination and is renamed into place only after the checksum
 * matches; extraction unpacks into a temporary folder and renames
 * `cifar-10-batches-bin/` into place only when every batch file is there. An
 * interrupted run therefore leaves nothing that a later run would mistake for
 * good data.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { diskFault, fsFault, outOfRoom } from '../shared/atomic-file.js';
import { HIDDEN, NOT_HTTP_URL, hideCredentials, httpUrl } from '../shared/url.js';
import { TrainerError } from '../shared/errors.js';
import { BATCHES_DIR, META_FILE, TEST_BATCH_FILE, TRAIN_BATCH_FILES, errorText } from './cifar-format.js';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_TARBALL = 'cifar-10-binary.tar.gz';

export type DownloadProgress = (received: number, total: number | null, ended?: boolean) => void;

export interface DownloadOptions {
  /** Expected md5 of the whole file, hex; the file is rejected unless it matches. */
  md5: string;
  /**
   * Called after every chunk; total is the Content-Length, or null when the server sends none;
   * once more with `ended` when the download ends, whether it completed, failed or was stopped.
   */
  onProgress?: DownloadProgress;
  /** Redirects followed before giving up. Default 5. */
  maxRedirects?: number;
  /** Abort when the connection is silent this long (connecting or mid-body). Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Abort when the body grows past this. Default 1 GiB (the archive is 163 MiB). */
  maxDownloadBytes?: number;
  /** Stops the download (Ctrl-C): E_DOWNLOAD "stopped", the partial file removed. */
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads `url` to `dest`. Any failure (connection, HTTP status other than
 * 200, size limit, timeout, md5 mismatch) throws E_DOWNLOAD and leaves no
 * temporary file behind; `dest` is only ever created complete and verified. A folder
 * that takes no file is E_DATA (E_IO when full), before anything is fetched.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions): Promise<void> {
  // Messages never show the URL's user or password.
  const shown = hideCredentials(url);
  const tmp = join(dirname(dest), `${basename(dest)}.download-${process.pid}-${randomBytes(4).toString('hex')}`);
  const stopped = () => new TrainerError('E_DOWNLOAD', `download of ${shown} stopped before its end; nothing of it is kept`);
  if (opts.signal?.aborted) throw stopped();
  // What was received of what total: a progress bar ends with the download, however it ends.
  const progress = { received: -1, total: null as number | null };
  let out: WriteStream | null = null;
  try {
    out = await openTemp(tmp, shown);
    const res = await openFollowingRedirects(url, opts.maxRedirects ?? 5, opts.idleTimeoutMs ?? 60_000, opts.signal, stopped);
    const totalHeader = Number(res.headers['content-length']);
    const total = Number.isSafeInteger(totalHeader) && totalHeader >= 0 ? totalHeader : null;
    const limit = opts.maxDownloadBytes ?? 1024 ** 3;
    if (total !== null && total > limit) {
      res.destroy();
      throw new TrainerError('E_DOWNLOAD', `download of ${shown} refused: ${total} bytes is over the ${limit}-byte limit`);
    }
    const hash = createHash('md5');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > limit) {
          done(new TrainerError('E_DOWNLOAD', `download of ${shown} stopped: over the ${limit}-byte limit`));
          return;
        }
        hash.update(chunk);
        Object.assign(progress, { received, total });
        opts.onProgress?.(received, total);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, out);
    } catch (err) {
      if (err instanceof TrainerError) throw err;
      const of = total === null ? '' : ` of ${total}`;
      // This machine's disk, not the network: "broke off" blamed the server.
      const disk = diskFault(err);
      if (disk !== null) {
        throw new TrainerError(outOfRoom(err) ? 'E_IO' : 'E_DOWNLOAD', `download of ${shown} stopped after ${received}${of} bytes: cannot write in ${dirname(dest)}: ${disk}`, { cause: err });
      }
      throw new TrainerError('E_DOWNLOAD', `download of ${shown} broke off after ${received}${of} bytes: ${errorText(err)}`, { cause: err });
    }
    if (total !== null && received !== total) {
      throw new TrainerError('E_DOWNLOAD', `download of ${shown} ended after ${received} of ${total} bytes`);
    }
    const got = hash.digest('hex');
    if (got !== opts.md5.toLowerCase()) {
      throw new TrainerError('E_DOWNLOAD', `download of ${shown} has md5 ${got}, expected ${opts.md5}: corrupt or not the CIFAR-10 archive`);
    }
    await rename(tmp, dest);
  } catch (err) {
    out?.destroy();
    await rm(tmp, { force: true });
    if (err instanceof TrainerError) throw err;
    throw new TrainerError('E_DOWNLOAD', `download of ${shown} failed: ${errorText(err)}`, { cause: err });
  } finally {
    if (progress.received >= 0) opts.onProgress?.(progress.received, progress.total, true);
  }
}

/**
 * The download's temporary file, opened before a byte is fetched: a data.path this process may not
 * write in (a read-only mount, another user's folder) was met at the first write, with the archive
 * on its way, as E_DOWNLOAD "stopped after N bytes", which a scheduler retries. E_DATA, as an
 * extraction into that folder is (a rerun meets the same folder); E_IO for a full disk or quota.
 */
async function openTemp(tmp: string, shown: string): Promise<WriteStream> {
  const out = createWriteStream(tmp);
  try {
    await once(out, 'open');
    return out;
  } catch (err) {
    const full = outOfRoom(err);
    const hint = diskFault(err) !== null && !full ? ' (data.path must be writable: put the archive there, fetched another way, or give a writable data.path)' : '';
    throw new TrainerError(full ? 'E_IO' : 'E_DATA', `cannot download ${shown} into ${dirname(tmp)}: ${fsFault(err) ?? errorText(err)}${hint}`, { cause: err });
  }
}

/** GETs `url`, following up to `maxRedirects` redirects, and resolves with the 200 response. */
async function openFollowingRedirects(
  url: string,
  maxRedirects: number,
  idleTimeoutMs: number,
  signal: AbortSignal | undefined,
  stopped: () => TrainerError,
): Promise<IncomingMessage> {
  let current = url;
  const shown = hideCredentials(url);
  for (let hop = 0; ; hop++) {
    const res = await get(current, idleTimeoutMs, signal, stopped);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location !== undefined) {
      res.resume();
      if (hop >= maxRedirects) throw new TrainerError('E_DOWNLOAD', `download of ${shown} failed: more than ${maxRedirects} redirects`);
      current = redirectTarget(shown, status, res.headers.location, current);
      continue;
    }
    if (status !== 200) {
      res.resume();
      const via = current === url ? '' : ` (redirected to ${hideCredentials(current)})`;
      // A resumed run's stored data.url has its credentials hidden (config.json never holds them).
      const hidden = (status === 401 || status === 403) && new URL(url).username === HIDDEN ? ': the run keeps data.url without its credentials, give --data.url again' : '';
      throw new TrainerError('E_DOWNLOAD', `download of ${shown} failed: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() + via + hidden);
    }
    return res;
  }
}

/**
 * Where a redirect leads, resolved against the URL it answered. One to a URL that does not parse,
 * or to another scheme (ftp://, file://), was "failed: Invalid URL" or "download URL must be
 * http:// or https://, got ftp://…" with data.url an https:// URL: it named neither the redirect
 * nor the data.url it came from.
 */
function redirectTarget(shown: string, status: number, location: string, current: string): string {
  const next = httpUrl(location, current);
  if (next === null) {
    throw new TrainerError('E_DOWNLOAD', `download of ${shown} failed: HTTP ${status} redirects to ${JSON.stringify(hideCredentials(location))}, which is ${NOT_HTTP_URL}`);
  }
  return next.toString();
}

function get(url: string, idleTimeoutMs: number, signal: AbortSignal | undefined, stopped: () => TrainerError): Promise<IncomingMessage> {
  // Only downloadFile's own URL meets this test here: redirectTarget tested where each redirect leads.
  const parsed = httpUrl(url);
  if (parsed === null) return Promise.reject(new TrainerError('E_DOWNLOAD', `download of ${hideCredentials(url)} failed: ${NOT_HTTP_URL}`));
  // A stored URL's hidden user is not sent as one (the server would see "***" as a name).
  if (parsed.username === HIDDEN && parsed.password === '') parsed.username = '';
  const client = parsed.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let response: IncomingMessage | null = null;
    // agent: false -> one connection per request, nothing kept alive after the download.
    const req = client.get(parsed, { agent: false, headers: { 'user-agent': 'trainer' } }, (res) => {
      response = res;
      resolve(res);
    });
    const fail = (err: Error) => {
      response?.destroy(err); // the body stream must fail with this reason, not a bare "aborted"
      req.destroy(err);
    };
    // The socket timeout covers connecting and every gap in the body.
    req.setTimeout(idleTimeoutMs, () => fail(new Error(`no data for ${idleTimeoutMs} ms`)));
    const onAbort = () => fail(stopped());
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', reject);
  });
}

/**
 * Unpacks `cifar-10-batches-bin/` from `tarball` into `destDir`. Only regular
 * files and folders under that one folder are extracted (no links, nothing
 * else), and the folder appears in `destDir` only once every batch file is in
 * it. A corrupt or foreign tarball throws E_DATA naming it.
 */
export async function extractCifarTarball(tarball: string, destDir: string): Promise<string> {
  const final = join(destDir, BATCHES_DIR);
  // A name no user file has: removeStaleTemps sweeps it. A read-only data.path (a shared mount
  // holding the archive) was E_INTERNAL here.
  const tmp = await mkdtemp(join(destDir, `.${BATCHES_DIR}.extract-${process.pid}-`)).catch((err: unknown) => {
    throw new TrainerError('E_DATA', `cannot extract ${tarball} into ${destDir}: ${fsFault(err) ?? errorText(err)} (data.path must be writable: extract the archive there by hand, or give a writable data.path holding a copy)`, { cause: err });
  });
  // What else the archive holds, at its top: a foreign archive (the Python version, CIFAR-100) is named by it.
  const tops = new Set<string>();
  try {
    try {
      await tar.x({
        file: tarball,
        cwd: tmp,
        strict: true,
        preserveOwner: false,
        filter: (path, entry) => {
          const type = 'type' in entry ? entry.type : 'File';
          const clean = path.replace(/^\.\//, '');
          const ours = clean === BATCHES_DIR || clean.startsWith(`${BATCHES_DIR}/`);
          if (!ours && tops.size < 3) tops.add(clean.replace(/\/.*$/s, '/'));
          return (type === 'File' || type === 'Directory') && ours;
        },
      });
    } catch (err) {
      // The archive itself unreadable (EACCES): "into DIR … the archive is not at fault" blamed the folder.
      if ((err as NodeJS.ErrnoException).path === tarball) {
        throw new TrainerError('E_DATA', `cannot read ${tarball}: ${fsFault(err) ?? errorText(err)}`, { cause: err });
      }
      // The disk's fault (full, read-only): the archive, md5-checked when downloaded, is not the problem.
      const disk = diskFault(err);
      if (disk !== null) throw new TrainerError(outOfRoom(err) ? 'E_IO' : 'E_DATA', `cannot extract ${tarball} into ${destDir}: ${disk} (the archive is not at fault: its files take about 180 MB)`, { cause: err });
      throw new TrainerError('E_DATA', `cannot extract ${tarball}: ${errorText(err)} (delete it to download again)`, { cause: err });
    }
    for (const file of [...TRAIN_BATCH_FILES, TEST_BATCH_FILE, META_FILE]) {
      const ok = await stat(join(tmp, BATCHES_DIR, file)).then((s) => s.isFile(), () => false);
      if (!ok) {
        // It was left in data.path, and each run extracted it again with this message: say what to do.
        const holds = tops.size === 0 ? '' : ` (it holds ${[...tops].join(', ')})`;
        throw new TrainerError('E_DATA', `${tarball} does not contain ${BATCHES_DIR}/${file}${holds}: not the CIFAR-10 binary archive? (delete it to download again)`);
      }
    }
    try {
      await rename(join(tmp, BATCHES_DIR), final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process extracted the same archive first.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
        throw new TrainerError('E_DATA', `cannot move extracted files to ${final}: ${errorText(err)}`, { cause: err });
      }
    }
  } finally {
    // tar may still be writing entries after its first error: retried, and never in place of that
    // error (ENOTEMPTY came out as E_INTERNAL); what is left is swept later (removeStaleTemps).
    await rm(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => {});
  }
  return final;
}

