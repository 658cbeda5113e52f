import { randomBytes } from 'node:crypto';
import type { KeyMaterial } from '../../domain/reseller/events.ts';
import { sha256Hex } from '../x402/secrets.ts';

/**
 * Raw pak_ keys are stored sealed with the service keyring (`infra.secrets`: AES-256-GCM under SECRETS_KEY,
 * rotatable), because reveal must read them back, and as a sha256 hash, which is what the gateway looks up.
 */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** `pak_` + 24 hex (the SDK's shape), sealed and hashed. */
export function newPoolKey(sealer: Sealer): { raw: string; material: KeyMaterial } {
  const raw = `pak_${randomBytes(12).toString('hex')}`;
  return { raw, material: { hash: sha256Hex(raw), sealed: sealer.seal(raw), prefix: raw.slice(0, 8) } };
}

/** Key ids look like the SDK's (24 hex). */
export const newPoolKeyId = () => randomBytes(12).toString('hex');
