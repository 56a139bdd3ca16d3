import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { killAll, spawnMain, spawnWorker, startBarePool, waitFor } from './helpers.js';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('with cluster.tls the coordinator speaks wss, a worker trusting its certificate joins, and one that does not is named in its log (it said nothing)', { skip: !haveOpenssl() && 'no openssl' }, async () => {
  const dir = await tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const { pool, url, lines } = await startBarePool(dir, { cluster: { tls: { cert, key } } });
  try {
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const untrusting = spawnWorker(url, dir, 'untrusting', ['--retry-for-ms', '300']);
    const trusting = spawnWorker(url, dir, 'trusting', ['--ca', cert]);
    await waitFor('the trusting worker', () => pool.size === 1);
    assert.equal(await untrusting.exited, 1);
    assert.match(untrusting.output(), /error E_TIMEOUT: no coordinator at wss:/);
    // From where, though the worker had hung up when its failure was reported (the address was left out then).
    assert.ok(
      lines.some((l) => /^\d+ TLS handshake\(s\) failed since the last such line, the last from 127\.0\.0\.1: the client closed the connection during the handshake \(as a worker that does not trust this certificate does: give it --ca with this certificate, or the CA that signed it\)$/.test(l)),
      lines.join('\n'),
    );
    killAll([trusting]);
  } finally {
    await pool.close();
  }
});

test('a worker given the coordinator\'s own certificate, one a CA signed, trusts it, also dialled as HOST:PORT (it was "not trusted", and HOST:PORT with --ca went on in plain text)', { skip: !haveOpenssl() && 'no openssl' }, async () => {
  const dir = await tempDir();
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test CA']);
  run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'req.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', 'req.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'ext.cnf']);
  const { pool, url } = await startBarePool(dir, { cluster: { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } });
  const procs = [];
  try {
    procs.push(spawnWorker(url, dir, 'by-cert', ['--ca', join(dir, 'cert.pem')]));
    await waitFor('the worker trusting the certificate', () => pool.size === 1);
    procs.push(spawnWorker(url.replace(/^wss:\/\//, ''), dir, 'host-port', ['--ca', join(dir, 'ca.pem')]));
    await waitFor('the worker dialling HOST:PORT with --ca', () => pool.size === 2);
    // ws:// with --ca is a contradiction: refused at once.
    const plain = spawnMain(['worker', '--connect', url.replace(/^wss:/, 'ws:'), '--ca', join(dir, 'ca.pem'), '--retry-for-ms', '300']);
    procs.push(plain);
    assert.equal(await plain.exited, 2);
    assert.match(plain.output(), /error E_USAGE: --ca is trust for TLS, and ws:\/\/127\.0\.0\.1:\d+ is plain text: connect with wss:\/\/, or leave --ca out/);
  } finally {
    killAll(procs);
    await pool.close();
  }
});

test('bad cluster.tls files are E_CONFIG naming the file and the fault, before the run starts (they were E_INTERNAL with OpenSSL\'s words, after the data loaded)', { skip: !haveOpenssl() && 'no openssl' }, async () => {
  const { writeFile } = await import('node:fs/promises');
  const { tlsMaterial } = await import('../../../src/transports/ws/server.js');
  const { isTrainerError } = await import('../../../src/shared/errors.js');
  const dir = await tempDir();
  const make = (name: string, days: string) => {
    const cert = join(dir, `${name}.pem`);
    const key = join(dir, `${name}.key`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', days, '-subj', '/CN=localhost'], { stdio: 'ignore' });
    return { cert, key };
  };
  const a = make('a', '1');
  const b = make('b', '1');
  const garbage = join(dir, 'garbage.pem');
  await writeFile(garbage, 'not pem\n');
  assert.ok(tlsMaterial(a));
  const refuses = (tls: { cert: string; key: string }, re: RegExp) =>
    assert.throws(() => tlsMaterial(tls), (e: unknown) => isTrainerError(e, 'E_CONFIG') && re.test((e as Error).message), JSON.stringify(tls));
  refuses({ cert: a.cert, key: b.key }, /^cluster\.tls\.key .*b\.key is not the key of that certificate \(cluster\.tls\.cert .*a\.pem\)$/);
  refuses({ cert: garbage, key: a.key }, /^cluster\.tls\.cert .*garbage\.pem is not a PEM certificate/);
  refuses({ cert: a.cert, key: garbage }, /^cluster\.tls\.key .*garbage\.pem is not a PEM private key/);
  refuses({ cert: a.key, key: a.cert }, /is not a PEM certificate/);
  // DER (X509Certificate reads it, the TLS server does not): the key was blamed, "does not go with it".
  const der = join(dir, 'a.der');
  execFileSync('openssl', ['x509', '-in', a.cert, '-outform', 'der', '-out', der], { stdio: 'ignore' });
  refuses({ cert: der, key: a.key }, /^cluster\.tls\.cert .*a\.der is not a PEM certificate \(-----BEGIN CERTIFICATE-----\) \(it looks like DER: openssl x509 -inform der -in .*a\.der -out cert\.pem\)$/);
  // Each file named, with what is wrong ("cannot read cluster.tls files: EISDIR: illegal operation on a directory, read").
  refuses({ cert: dir, key: a.key }, new RegExp(`^cannot read cluster\\.tls\\.cert ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is a directory$`));
  refuses({ cert: a.cert, key: join(dir, 'missing.key') }, /^cannot read cluster\.tls\.key .*missing\.key: no such file$/);
  // Encrypted with a passphrase (PKCS#8, and the older RSA form): a PEM private key it cannot use ("is not a PEM private key").
  const locked = join(dir, 'locked.key');
  execFileSync('openssl', ['pkey', '-in', a.key, '-aes128', '-passout', 'pass:secret', '-out', locked], { stdio: 'ignore' });
  refuses({ cert: a.cert, key: locked }, /^cluster\.tls\.key .*locked\.key is encrypted with a passphrase: give the key unencrypted \(openssl pkey -in .*locked\.key -out key\.pem\)/);
  const legacy = join(dir, 'legacy.key');
  try {
    execFileSync('openssl', ['rsa', '-in', a.key, '-aes128', '-passout', 'pass:secret', '-traditional', '-out', legacy], { stdio: 'ignore' });
    refuses({ cert: a.cert, key: legacy }, /legacy\.key is encrypted with a passphrase/);
  } catch (err) {
    if (!/Command failed/.test(String(err))) throw err; // an openssl without -traditional (1.1)
  }
  // Out of its dates: `openssl ca` sets them (req -x509 only counts days from now).
  const dated = (name: string, start: string, end: string) => {
    const at = join(dir, name);
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, 'index.txt'), '');
    writeFileSync(join(at, 'serial'), '01\n');
    writeFileSync(join(at, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=$dir/index.txt\nnew_certs_dir=$dir\nserial=$dir/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n');
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'req.csr', '-subj', '/CN=localhost'], { cwd: at, stdio: 'ignore' });
    execFileSync('openssl', ['ca', '-batch', '-selfsign', '-config', 'ca.cnf', '-keyfile', 'key.pem', '-in', 'req.csr', '-out', 'cert.pem', '-startdate', start, '-enddate', end], { cwd: at, stdio: 'ignore' });
    return { cert: join(at, 'cert.pem'), key: join(at, 'key.pem') };
  };
  refuses(dated('expired', '20200101000000Z', '20200102000000Z'), /^cluster\.tls\.cert .*expired\/cert\.pem expired on Jan  2 00:00:00 2020 GMT: workers would refuse it$/);
  refuses(dated('future', '20990101000000Z', '20990102000000Z'), /^cluster\.tls\.cert .*future\/cert\.pem is not valid before Jan  1 00:00:00 2099 GMT: workers would refuse it$/);
  // Through the CLI: one line, exit 2, nothing started.
  const { smallConfigFile, trainer } = await import('../../cli/cli-helpers.js');
  const r = trainer(['coordinator', '--config', await smallConfigFile(dir, 'tls'), '--cluster.tls.cert', a.cert, '--cluster.tls.key', b.key]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error E_CONFIG: cluster\.tls\.key .* is not the key of that certificate/);
  assert.doesNotMatch(r.stderr, /data:|E_INTERNAL/);
});
