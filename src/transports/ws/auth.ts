/**
 * Challenge-response with the shared token, both ways: the coordinator sends
 * a random nonce, the worker answers HMAC-SHA256(token, "worker" + nonce) and
 * a nonce of its own, and the coordinator answers that with
 * HMAC-SHA256(token, "coordinator" + nonce). The token itself never crosses
 * the wire, a recorded answer is useless for another nonce, and the role
 * prefix stops one side's answer being reflected as the other's.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

export const NONCE_BYTES = 32;

export function newNonce(): Uint8Array {
  return randomBytes(NONCE_BYTES);
}

export function authMac(token: string | null, role: 'worker' | 'coordinator', nonce: Uint8Array): Uint8Array {
  return createHmac('sha256', token ?? '').update(role).update(nonce).digest();
}

/** Constant-time check of a peer's answer. */
export function checkMac(token: string | null, role: 'worker' | 'coordinator', nonce: Uint8Array, mac: Uint8Array): boolean {
  const expected = authMac(token, role, nonce);
  return mac.length === expected.length && timingSafeEqual(expected, mac);
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Where a coordinator may listen without a token: `localhost` and literal
 * loopback addresses (127.0.0.0/8, ::1, ::ffff:127.x.y.z) only. A name is
 * not an address: `127.evil.example` resolves wherever its owner says.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/** The shortest token a coordinator listening beyond loopback accepts (openssl rand -hex 24 makes 48). */
export const MIN_NETWORK_TOKEN_CHARS = 16;

/**
 * The token: cluster.token, else TRAINER_TOKEN, else none; without the spaces and newlines around
 * it (a token read from a file, or a Kubernetes Secret made with --from-file, ends with a newline
 * that one side has and the other not), so a token of spaces only is none.
 */
export function resolveToken(configured: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  const given = configured?.trim() ?? '';
  if (given !== '') return given;
  const t = env.TRAINER_TOKEN?.trim() ?? '';
  return t !== '' ? t : null;
}
