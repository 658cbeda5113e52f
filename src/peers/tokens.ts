import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config.ts';

/**
 * Peer credentials: a 1-hour HS256 JWT (jose) that opens the relay and the peer API, and a 7-day
 * refresh token that is random, shown once, stored only as its sha256 and replaced on every use.
 */
export interface PeerTokens {
  sign(deviceId: string): Promise<{ jwt: string; expiresAt: Date }>;
  verify(jwt: string): Promise<{ ok: true; deviceId: string } | { ok: false; reason: 'invalid' | 'expired' }>;
  /** The secret gateways present to relays on the internal CONNECT. */
  internalSecret: string;
}

const ISSUER = 'proxies-marketplace/peers';

export const newRefreshToken = () => randomBytes(32).toString('hex');
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** The key: PEER_JWT_SECRET, else a random one created once in DATA_DIR (so the processes of one machine share it). */
export function peerJwtSecret(config: Pick<Config, 'PEER_JWT_SECRET' | 'DATA_DIR'>): string {
  if (config.PEER_JWT_SECRET) return config.PEER_JWT_SECRET;
  const file = path.resolve(config.DATA_DIR, 'peer-jwt.secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    const secret = randomBytes(32).toString('hex');
    try {
      writeFileSync(file, secret, { flag: 'wx', mode: 0o600 });
      return secret;
    } catch {
      return readFileSync(file, 'utf8').trim(); // another process made it first
    }
  }
}

export function createPeerTokens(config: Pick<Config, 'PEER_JWT_SECRET' | 'DATA_DIR' | 'PEER_JWT_TTL_SECONDS' | 'RELAY_INTERNAL_SECRET'>, now: () => Date): PeerTokens {
  const secret = peerJwtSecret(config);
  const key = new TextEncoder().encode(secret);
  const internalSecret = config.RELAY_INTERNAL_SECRET ?? createHash('sha256').update(`relay-internal:${secret}`).digest('hex');
  return {
    internalSecret,
    async sign(deviceId) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const exp = issuedAt + config.PEER_JWT_TTL_SECONDS;
      const jwt = await new SignJWT({ typ: 'peer' }).setProtectedHeader({ alg: 'HS256' }).setSubject(deviceId).setIssuer(ISSUER)
        .setIssuedAt(issuedAt).setExpirationTime(exp).setJti(randomBytes(8).toString('hex')).sign(key);
      return { jwt, expiresAt: new Date(exp * 1000) };
    },
    async verify(jwt) {
      try {
        const { payload } = await jwtVerify(jwt, key, { issuer: ISSUER, algorithms: ['HS256'], currentDate: now() });
        if (typeof payload.sub !== 'string' || payload.typ !== 'peer') return { ok: false, reason: 'invalid' };
        return { ok: true, deviceId: payload.sub };
      } catch (error) {
        return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
      }
    },
  };
}
