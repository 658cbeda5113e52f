import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * AES-256-GCM sealing of secrets that must be read back (modem upstream passwords, reset URLs).
 * A sealed value is `sealed:v1:<key id>:<base64url(iv ‖ ciphertext ‖ tag)>`; the key id (first 8 hex of
 * sha256(key)) says which key opens it, so values sealed under a previous key still open during a key rotation.
 */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

const AAD = Buffer.from('proxies-marketplace/sealed/v1');

export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  readonly primaryId: string;

  constructor(primary: Buffer, previous: Buffer[] = []) {
    if (primary.length !== 32) throw new SecretError('a sealing key is 32 bytes');
    this.primaryId = keyId(primary);
    for (const key of [primary, ...previous]) {
      if (key.length !== 32) throw new SecretError('a sealing key is 32 bytes');
      if (!this.keys.has(keyId(key))) this.keys.set(keyId(key), key);
    }
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.primaryId)!, iv).setAAD(AAD);
    const body = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `sealed:v1:${this.primaryId}:${body.toString('base64url')}`;
  }

  open(sealed: string): string {
    const m = /^sealed:v1:([0-9a-f]{8}):([A-Za-z0-9_-]+)$/.exec(sealed);
    if (!m) throw new SecretError('not a sealed value');
    const key = this.keys.get(m[1]!);
    if (!key) throw new SecretError(`sealed under key ${m[1]}, which this keyring does not hold (set SECRETS_KEY_PREVIOUS during a key rotation)`);
    const body = Buffer.from(m[2]!, 'base64url');
    if (body.length < 12 + 16) throw new SecretError('sealed value is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12)).setAAD(AAD);
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretError('sealed value does not open (tampered, or another key with the same id)');
    }
  }

  /** Sealed under the current key (a re-seal leaves these alone). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`sealed:v1:${this.primaryId}:`);
  }
}

export const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);

/** 32 bytes as 64 hex digits or base64 (44 characters). */
export function parseKey(text: string, name: string): Buffer {
  const t = text.trim();
  const hex = /^[0-9a-fA-F]{64}$/.test(t);
  const key = hex ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new SecretError(`${name} must be 32 bytes as 64 hex digits or base64 (generate one: openssl rand -hex 32)`);
  }
  return key;
}

export const newKeyText = () => randomBytes(32).toString('hex');

/**
 * The key file of the embedded default: read it, or create it on first start (0600, never overwritten:
 * two processes starting at once agree on the first one written). Returns whether it was created.
 */
export function loadOrCreateKeyFile(file: string): { key: Buffer; created: boolean } {
  try {
    return { key: parseKey(readFileSync(file, 'utf8'), file), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  // written whole to a private temp file, then linked into place: a reader never sees half a key
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, `${newKeyText()}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(tmp, file);
    return { key: parseKey(readFileSync(file, 'utf8'), file), created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: parseKey(readFileSync(file, 'utf8'), file), created: false };
  } finally {
    unlinkSync(tmp);
  }
}
