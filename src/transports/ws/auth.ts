/**
 * Challenge-response with the shared token, both ways: the coordinator sends
 * a random nonce, the worker answers HMAC-SHA256(token, "worker" + nonce) and
 * a nonce of its own, and the coordinator answers that with
 * HMAC-SHA256(token, "coordinator" + nonce). The token itself never crosses
 * the wire, a recorded answer is useless for another nonce, and the role
 * prefix stops one side's answer being reflected as the other's.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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

/** Loopback addresses, where a coordinator may listen without a token. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The token: cluster.token, else TRAINER_TOKEN, else none. */
export function resolveToken(configured: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  if (configured !== null && configured !== '') return configured;
  const t = env.TRAINER_TOKEN;
  return t !== undefined && t !== '' ? t : null;
}
