import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { bindServer, listenServer, MAX_FREE_PORT_TRIES, type Listen } from '../../../src/transports/ws/bind.js';
import { listenError } from '../../../src/transports/ws/server.js';

// Binding `all` (bind.ts) on a machine that lacks a family, or where the port IPv6 got is taken on
// IPv4: the real listen, with the failures a missing family gives played by the Listen parameter.

const hasV6 = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6'));

/** The real listen, except on `missing` ('::' or '0.0.0.0'), which fails as on a kernel without that family. */
function withoutFamily(missing: string): Listen {
  return (server, options) =>
    options.host === missing ? Promise.reject(Object.assign(new Error(`listen EAFNOSUPPORT ${missing}`), { code: 'EAFNOSUPPORT' })) : listenServer(server, options);
}

/** Closes servers, ignoring those not listening. */
async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
}

test('all on a machine with IPv4 only listens on 0.0.0.0 alone, not an error', async () => {
  const server = createServer();
  try {
    const bound = await bindServer(server, 0, 'all', withoutFamily('::'));
    assert.deepEqual(bound.hosts, ['0.0.0.0']);
    assert.equal((server.address() as AddressInfo).address, '0.0.0.0');
    assert.ok(bound.port > 0);
  } finally {
    await closeAll([server]);
  }
});

test('all on a machine with IPv6 only listens on :: alone, not an error', { skip: !hasV6 && 'no IPv6 here' }, async () => {
  const server = createServer();
  try {
    const bound = await bindServer(server, 0, 'all', withoutFamily('0.0.0.0'));
    assert.deepEqual(bound.hosts, ['::']);
    assert.equal((server.address() as AddressInfo).address, '::');
    bound.closeExtra();
  } finally {
    await closeAll([server]);
  }
});

/**
 * The real listen, where the first `taken` IPv4 binds find their port held by another process's
 * socket (a real one, bound just before): the ports the IPv6 socket got, in order.
 */
function v4Taken(taken: number, blockers: Server[]): { listen: Listen; v6Ports: number[] } {
  const v6Ports: number[] = [];
  const listen: Listen = async (server, options) => {
    if (options.host === '0.0.0.0' && blockers.length < taken) {
      const blocker = createServer();
      blockers.push(blocker);
      await listenServer(blocker, { port: options.port, host: '0.0.0.0' });
    }
    await listenServer(server, options);
    if (options.host === '::') v6Ports.push((server.address() as AddressInfo).port);
  };
  return { listen, v6Ports };
}

test('all on port 0 tries another port when the one IPv6 got is taken on IPv4, and listens on both families there', { skip: !hasV6 && 'no IPv6 here' }, async () => {
  const server = createServer();
  const blockers: Server[] = [];
  const { listen, v6Ports } = v4Taken(2, blockers);
  try {
    const bound = await bindServer(server, 0, 'all', listen);
    assert.deepEqual(bound.hosts, ['::', '0.0.0.0']);
    assert.equal(v6Ports.length, 3, 'two ports taken, the third free');
    assert.equal(bound.port, v6Ports[2]);
    assert.deepEqual(
      blockers.map((b) => (b.address() as AddressInfo).port),
      v6Ports.slice(0, 2),
    );
    bound.closeExtra();
  } finally {
    await closeAll([server, ...blockers]);
  }
});

test(`all on port 0 gives up after ${MAX_FREE_PORT_TRIES} ports taken on IPv4: E_CONFIG saying so, nothing left listening`, { skip: !hasV6 && 'no IPv6 here' }, async () => {
  const server = createServer();
  const blockers: Server[] = [];
  const { listen, v6Ports } = v4Taken(Infinity, blockers);
  try {
    const err = await bindServer(server, 0, 'all', listen).then(
      () => assert.fail('bound'),
      (e: NodeJS.ErrnoException) => e,
    );
    assert.equal(err.code, 'EADDRINUSE');
    assert.equal(v6Ports.length, MAX_FREE_PORT_TRIES);
    assert.equal(server.listening, false);
    const said = listenError('listen for workers', 'all', 0, err);
    assert.ok(isTrainerError(said, 'E_CONFIG'));
    assert.equal(said.message, `cannot listen for workers on every address (all), port 0: no port was free on both IPv6 and IPv4 in ${MAX_FREE_PORT_TRIES} tries: give a port`);
  } finally {
    await closeAll([server, ...blockers]);
  }
});

test('all on a given port taken on IPv4 is not retried: the error at once', { skip: !hasV6 && 'no IPv6 here' }, async () => {
  const blocker = createServer();
  await listenServer(blocker, { port: 0, host: '0.0.0.0' });
  const port = (blocker.address() as AddressInfo).port;
  const server = createServer();
  let v6Tries = 0;
  const listen: Listen = (s, options) => {
    if (options.host === '::') v6Tries++;
    return listenServer(s, options);
  };
  try {
    await assert.rejects(bindServer(server, port, 'all', listen), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
    assert.equal(v6Tries, 1);
    assert.equal(server.listening, false);
  } finally {
    await closeAll([server, blocker]);
  }
});
