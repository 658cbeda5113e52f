import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { randomToken } from '../x402/secrets.ts';

const scryptAsync = (password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

const N = 16384, R = 8, P = 1, KEYLEN = 32;

/** scrypt (N=2^14, r=8, p=1), self-describing: `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password.normalize('NFKC'), salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  // Without a stored hash we still spend the time, so a missing account is not told apart by timing.
  const [scheme, n, r, p, salt, hash] = (stored ?? `scrypt$${N}$${R}$${P}$${'A'.repeat(22)}$${'A'.repeat(43)}`).split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
  return stored !== null && timingSafeEqual(key, expected);
}

/** `psx_` + 40 of [a-z0-9]; the first 12 characters are kept as a display prefix. */
export const newApiKey = () => `psx_${randomToken(40)}`;
export const apiKeyPrefix = (key: string) => key.slice(0, 12);
export const API_KEY_RE = /^psx_[a-z0-9]{40}$/;
