import assert from 'node:assert/strict';
import test from 'node:test';
import { hostCheck, hostOfHeader, parseAllowedHosts, refusedHostMessage } from '../../src/dashboard/host-check.js';
import { isTrainerError } from '../../src/shared/errors.js';

// A fixed machine name, so the test does not depend on where it runs.
const allowed = hostCheck('0.0.0.0', ['dash.example.org', '.lab.example'], 'box');

test('the Host check answers IP literals, v4 and v6, with or without a port', () => {
  for (const h of ['127.0.0.1', '127.0.0.1:9000', '10.1.2.3:80', '[::1]', '[::1]:9000', '[fe80::1]:9100', '[::ffff:127.0.0.1]:1']) {
    assert.equal(allowed(h), true, h);
  }
});

test('the Host check answers localhost and *.localhost, in any case, with a trailing dot', () => {
  for (const h of ['localhost', 'localhost:9000', 'LOCALHOST:9000', 'foo.localhost', 'a.b.localhost:1', 'Foo.LocalHost', 'localhost.:9000']) {
    assert.equal(allowed(h), true, h);
  }
});

test('the Host check refuses other names, look-alikes and malformed headers', () => {
  for (const h of ['evil.example.com', 'evil.example.com:9000', 'localhost.evil.example', 'notlocalhost', 'evillab.example', '127.0.0.1.evil.example', '[evil]:1', '[::1', 'a:b', 'example.org:12ab', ':9000']) {
    assert.equal(allowed(h), false, h);
  }
});

test('the Host check answers the listening host, the machine\'s hostname and configured names, case-insensitively', () => {
  assert.equal(hostCheck('HostA.example.com', [], 'box')('hosta.EXAMPLE.com:9000'), true, 'the host it listens on');
  assert.equal(hostCheck('hostA.example.com', [], 'box')('hostb.example.com'), false);
  assert.equal(allowed('box:9000'), true, 'the machine\'s hostname');
  assert.equal(allowed('BOX'), true);
  assert.equal(allowed('dash.example.org'), true, 'a configured name');
  assert.equal(allowed('DASH.Example.ORG:443'), true);
  assert.equal(allowed('x.dash.example.org'), false, 'a plain name does not admit subdomains');
  assert.equal(allowed('lab.example'), true, 'a leading dot admits the name');
  assert.equal(allowed('gpu1.lab.example:9100'), true, 'and its subdomains');
});

test('listening on all (every address), the Host check does not take "all" for a name of the machine (it answered Host: all)', () => {
  const onAll = hostCheck('all', [], 'box');
  assert.equal(onAll('all'), false);
  assert.equal(onAll('all:9000'), false);
  assert.equal(onAll('[::1]:9000'), true);
  assert.equal(onAll('box:9000'), true);
});

test('a request without a Host header (HTTP/1.0), or with an empty one, is answered', () => {
  assert.equal(allowed(undefined), true);
  assert.equal(allowed(''), true);
});

test('hostOfHeader strips the port, the IPv6 brackets and a trailing dot, and lower-cases', () => {
  assert.equal(hostOfHeader('[::1]:9000'), '::1');
  assert.equal(hostOfHeader('Example.COM.:80'), 'example.com');
  assert.equal(hostOfHeader('[::1]x'), null);
});

test('the refusal names the host and how to allow it, on one line', () => {
  const line = refusedHostMessage('Evil.Example:9000');
  assert.match(line, /^trainer dashboard: Host "evil\.example" is not allowed .*--allowed-host evil\.example\n$/);
  assert.equal(line.split('\n').length, 2);
  assert.match(refusedHostMessage('[evil]'), /^trainer dashboard: Host "\[evil\]" is not a valid host name\n$/);
  // A name --allowed-host would refuse is not suggested to it.
  assert.equal(refusedHostMessage('a b'), 'trainer dashboard: Host "a b" is not a valid host name\n');
});

test('--allowed-host takes host names, lower-cased, and refuses URLs and ports with E_USAGE', () => {
  assert.deepEqual(parseAllowedHosts(undefined), []);
  assert.deepEqual(parseAllowedHosts(['Dash.Example.org', '.lab.example', 'box.']), ['dash.example.org', '.lab.example', 'box']);
  for (const bad of ['http://dash.example.org', 'dash.example.org:9000', '', 'a b', '*.example.com']) {
    assert.throws(() => parseAllowedHosts([bad]), (e) => isTrainerError(e, 'E_USAGE') && e.message.includes('--allowed-host'), bad);
  }
});
