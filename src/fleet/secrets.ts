import path from 'node:path';
import type { Logger } from 'pino';
import { Keyring, loadOrCreateKeyFile, parseKey } from '../../adapters/secrets/keyring.ts';
import { formatStoredUpstream, isSealed, parseResetUrl, parseStoredUpstream, parseUpstream } from '../../domain/fleet/upstream.ts';
import type { Config } from '../config.ts';

/**
 * The keyring from SECRETS_KEY (+ SECRETS_KEY_PREVIOUS during a key rotation). Without SECRETS_KEY, the
 * embedded default keeps one in DATA_DIR/secrets.key, generated on first start (and says so). Every process
 * that opens device secrets (api, gateway, CLI) must see the same key.
 */
export function loadKeyring(config: Config, logger: Pick<Logger, 'warn' | 'info'>): Keyring {
  const previous = (config.SECRETS_KEY_PREVIOUS ?? '').split(',').map((k) => k.trim()).filter(Boolean).map((k) => parseKey(k, 'SECRETS_KEY_PREVIOUS'));
  if (config.SECRETS_KEY) return new Keyring(parseKey(config.SECRETS_KEY, 'SECRETS_KEY'), previous);
  const file = path.resolve(config.DATA_DIR, 'secrets.key');
  const { key, created } = loadOrCreateKeyFile(file);
  if (created) logger.warn({ file }, 'SECRETS_KEY is not set: generated a new sealing key for device secrets into this file; back it up, and set SECRETS_KEY in production');
  return new Keyring(key, previous);
}

/** An operator's upstream URL in stored form: validated, its password sealed. */
export function sealUpstream(keyring: Keyring, raw: string): string {
  const parts = parseUpstream(raw);
  return formatStoredUpstream({ ...parts, password: parts.password ? keyring.seal(parts.password) : '' });
}

const opened = new WeakMap<Keyring, Map<string, string>>();

/** The URL the gateway dials, with the password opened (in memory only; never stored or logged). */
export function openUpstream(keyring: Keyring, stored: string): string {
  // memoised: the gateway opens one per connection, and the set of modems is small
  let cache = opened.get(keyring);
  if (!cache) opened.set(keyring, (cache = new Map()));
  const hit = cache.get(stored);
  if (hit !== undefined) return hit;
  const parts = parseStoredUpstream(stored);
  const url = parts.sealed ? `${parts.scheme}://${encodeURIComponent(parts.username)}:${encodeURIComponent(keyring.open(parts.password))}@${parts.host}` : stored;
  if (cache.size >= 10_000) cache.clear();
  cache.set(stored, url);
  return url;
}

/** The reset URL sealed whole (its credentials may be user info or query), and what may be shown of it. */
export function sealResetUrl(keyring: Keyring, raw: string): { resetUrl: string; resetEndpoint: string } {
  const { endpoint } = parseResetUrl(raw);
  return { resetUrl: keyring.seal(raw), resetEndpoint: endpoint };
}

export function openResetUrl(keyring: Keyring, sealed: string): string {
  return isSealed(sealed) ? keyring.open(sealed) : sealed;
}

/** The same secrets under the keyring's current key, or null when they already are (key rotation). */
export function resealDevice(keyring: Keyring, device: { upstream: string; resetUrl: string | null }): { upstream: string; resetUrl: string | null } | null {
  const parts = parseStoredUpstream(device.upstream);
  const upstreamCurrent = !parts.password || (parts.sealed && keyring.isCurrent(parts.password));
  const resetCurrent = device.resetUrl === null || (isSealed(device.resetUrl) && keyring.isCurrent(device.resetUrl));
  if (upstreamCurrent && resetCurrent) return null;
  const clearPassword = parts.sealed ? keyring.open(parts.password) : parts.password;
  return {
    upstream: formatStoredUpstream({ ...parts, password: clearPassword ? keyring.seal(clearPassword) : '' }),
    resetUrl: device.resetUrl === null ? null : keyring.seal(openResetUrl(keyring, device.resetUrl)),
  };
}
