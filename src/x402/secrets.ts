import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A random token from a 36-letter alphabet (lower case, so it survives case-folding in usernames). */
export function randomToken(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 252) out += ALPHABET[b % 36]; // 252 = 7 × 36: no modulo bias
  }
  return out.length === length ? out : randomToken(length);
}

/** Secrets are shown once and kept only as this hash. */
export const sha256Hex = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface PortCredentials {
  username: string;
  password: string;
  rotationToken: string;
}

export const newSessionToken = () => `x402s_${randomToken(40)}`;
export const newPortCredentials = (): PortCredentials => ({
  username: `x402_${randomToken(12)}`,
  password: randomToken(24),
  rotationToken: randomToken(32),
});
