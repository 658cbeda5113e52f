import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { KeyMaterial } from '../../domain/reseller/events.ts';
import type { Config } from '../config.ts';
import { sha256Hex } from '../x402/secrets.ts';

/**
 * Raw pak_ keys are stored sealed (AES-256-GCM), because reveal must read them back, and as a sha256
 * hash, which is what the gateway looks up. The sealing key comes from SECRET_SEAL_KEY; embedded, a
 * random one is made once in DATA_DIR/seal.key (processes on other machines must be given the same key).
 */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function sealerFromKey(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error('the seal key must be 32 bytes');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

const sealers = new Map<string, Sealer>();

export function sealerFor(config: Pick<Config, 'SECRET_SEAL_KEY' | 'DATA_DIR'>): Sealer {
  if (config.SECRET_SEAL_KEY) {
    // any string works: it is stretched to 32 bytes, so a passphrase and a 64-hex key are both fine
    const key = createHash('sha256').update(config.SECRET_SEAL_KEY).digest();
    return sealerFromKey(key);
  }
  const file = path.resolve(config.DATA_DIR, 'seal.key');
  let sealer = sealers.get(file);
  if (!sealer) {
    sealer = sealerFromKey(readOrCreateKey(file));
    sealers.set(file, sealer);
  }
  return sealer;
}

function readOrCreateKey(file: string): Buffer {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    const fd = openSync(file, 'wx', 0o600); // exclusive: two processes starting together make one key
    writeSync(fd, randomBytes(32).toString('hex'));
    closeSync(fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const hex = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} is not a 64-hex seal key`);
  return Buffer.from(hex, 'hex');
}

/** `pak_` + 24 hex (the SDK's shape), sealed and hashed. */
export function newPoolKey(sealer: Sealer): { raw: string; material: KeyMaterial } {
  const raw = `pak_${randomBytes(12).toString('hex')}`;
  return { raw, material: { hash: sha256Hex(raw), sealed: sealer.seal(raw), prefix: raw.slice(0, 8) } };
}

export const isPoolKeyShape = (s: string) => /^pak_[0-9a-f]{24}$/.test(s);
/** Key ids look like the SDK's (24 hex). */
export const newPoolKeyId = () => randomBytes(12).toString('hex');
