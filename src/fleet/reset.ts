import type { Keyring } from '../../adapters/secrets/keyring.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { openResetUrl } from './secrets.ts';

export const RESET_TIMEOUT_MS = 10_000;

/**
 * Calls the modem farm's IP-reset endpoint (airplane mode on the modem). The URL is opened in memory only;
 * credentials in its user info go as Basic auth (fetch refuses them in the URL); errors never carry the URL.
 */
export async function resetDeviceIp(keyring: Keyring, sealedResetUrl: string, deviceId: string, timeoutMs = RESET_TIMEOUT_MS): Promise<void> {
  const url = new URL(openResetUrl(keyring, sealedResetUrl));
  const headers: Record<string, string> = { 'user-agent': 'proxies-marketplace-rotation' };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  let status: number;
  try {
    const response = await fetch(url, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    status = response.status;
    await response.body?.cancel().catch(() => {});
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new DomainError('unavailable', 'RESET_UNREACHABLE', `the device's IP-reset endpoint ${timedOut ? `did not answer within ${timeoutMs} ms` : 'could not be reached'}; nothing was rotated`, { deviceId });
  }
  if (status < 200 || status >= 300) {
    throw new DomainError('unavailable', 'RESET_FAILED', `the device's IP-reset endpoint answered ${status}; nothing was rotated`, { deviceId, status });
  }
}
