import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

const hostOf = async (host: string) => (await resolveConfig(undefined, { cluster: { host } })).cluster.host;

test('cluster.host takes an IPv6 address in brackets as the address inside, as --host does; as a config key it was kept as written', async () => {
  assert.equal(await hostOf('[::1]'), '::1');
  assert.equal(await hostOf('[fd00::5]'), 'fd00::5');
  // In any case, as a resolver reads a name: LOCALHOST was not loopback ("needs a shared token"), ALL not every address.
  assert.equal(await hostOf('LOCALHOST'), 'localhost');
  assert.equal(await hostOf('All'), 'all');
  for (const kept of ['::1', '::', '127.0.0.1', '0.0.0.0', 'all', 'localhost', 'hosta', 'node-1.example.com', 'host_a']) assert.equal(await hostOf(kept), kept);
});

test('cluster.host with a port or a scheme is E_CONFIG saying the port goes in cluster.port; it was a name that does not resolve, or "needs a shared token"', async () => {
  const refused: [string, string][] = [
    ['hostA:9000', 'cluster.host "hostA:9000" holds a port: give the address or name alone, --host hostA and the port in cluster.port (--port 9000)'],
    ['127.0.0.1:9000', 'cluster.host "127.0.0.1:9000" holds a port: give the address or name alone, --host 127.0.0.1 and the port in cluster.port (--port 9000)'],
    ['[::1]:9000', 'cluster.host "[::1]:9000" holds a port: give the address or name alone, --host [::1] and the port in cluster.port (--port 9000)'],
    ['ws://127.0.0.1', 'cluster.host "ws://127.0.0.1" is a URL: give the address or name to listen on alone, --host 127.0.0.1 and the port in cluster.port (--port)'],
    ['wss://hostA:9000/', 'cluster.host "wss://hostA:9000/" is a URL: give the address or name to listen on alone, --host hostA and the port in cluster.port (--port 9000)'],
  ];
  for (const [host, message] of refused) {
    await assert.rejects(hostOf(host), (err) => isTrainerError(err, 'E_CONFIG') && err.message === message);
  }
});

test('cluster.host that is no address or host name is E_CONFIG quoting it, before anything starts', async () => {
  const notAName = (h: string) =>
    `cluster.host ${JSON.stringify(h)} is not an IP address or a host name (an IPv6 address goes bare or in brackets: ::1 or [::1]; all for every address)`;
  for (const host of ['127.0.0.1 ', 'host a', '[hostA]', 'fd00::zz', 'hostA/x']) {
    await assert.rejects(hostOf(host), (err) => isTrainerError(err, 'E_CONFIG') && err.message === notAName(host));
  }
  await assert.rejects(hostOf('a..b'), (err) => isTrainerError(err, 'E_CONFIG') && err.message === 'cluster.host "a..b": the host name "a..b" has an empty part (two dots in a row, or a leading dot)');
});
