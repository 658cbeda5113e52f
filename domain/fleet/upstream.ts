import { DomainError } from '../shared/errors.ts';

/**
 * How the gateway reaches a modem (its upstream proxy) and how a private rotation resets it (the modem
 * farm's reset URL). Secrets in them are sealed before they reach an event: an upstream is stored as
 * `scheme://user:sealed:v1:…@host:port` and a reset URL as one sealed value (credentials may sit in its
 * user info or its query). Sealing and opening are I/O (a key) and live in src/fleet/secrets.ts.
 */
export const SEALED = /^sealed:v\d+:[0-9a-f]{8}:[A-Za-z0-9_-]+$/;
export const isSealed = (value: string) => SEALED.test(value);

export interface UpstreamParts {
  scheme: 'http' | 'socks5';
  username: string;
  /** Clear text when parsed from an operator's input; a sealed value when parsed from storage. */
  password: string;
  /** host:port */
  host: string;
}

/** An operator's upstream URL: http or socks5, host and explicit port, nothing else. */
export function parseUpstream(raw: string): UpstreamParts {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream must be a URL like http://user:pass@host:port or socks5://user:pass@host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'socks5:') {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', `upstream scheme must be http or socks5, got ${url.protocol.replace(':', '')}`);
  }
  if (!url.hostname || !url.port) throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream needs a host and an explicit port');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream is host and port only: no path, query or fragment');
  }
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream credentials are not valid percent-encoding');
  }
  return { scheme: url.protocol === 'http:' ? 'http' : 'socks5', username, password, host: url.host };
}

const STORED = /^(http|socks5):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^@/]+)$/;

/** The stored form: the password (a sealed value, or empty) goes in as it is; the user name percent-encoded. */
export function formatStoredUpstream(parts: UpstreamParts): string {
  const user = parts.username || parts.password ? `${encodeURIComponent(parts.username)}${parts.password ? `:${parts.password}` : ''}@` : '';
  return `${parts.scheme}://${user}${parts.host}`;
}

/** Splits a stored upstream; events from before sealing carry a clear, percent-encoded password. */
export function parseStoredUpstream(stored: string): UpstreamParts & { sealed: boolean } {
  const m = STORED.exec(stored);
  if (!m) throw new DomainError('invalid', 'INVALID_UPSTREAM', 'upstream is not in stored form scheme://user:sealed:…@host:port');
  const password = m[3] ?? '';
  const sealed = isSealed(password);
  return { scheme: m[1] as 'http' | 'socks5', username: safeDecode(m[2] ?? ''), password: sealed ? password : safeDecode(password), host: m[4]!, sealed };
}

/** What operators see: the password is never shown, sealed or not. */
export function maskUpstream(stored: string): string {
  const p = parseStoredUpstream(stored);
  return formatStoredUpstream({ ...p, username: p.username, password: p.password ? '****' : '' });
}

/** The modem farm's IP-reset endpoint; `endpoint` is what may be shown (no credentials, no query). */
export function parseResetUrl(raw: string): { endpoint: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError('invalid', 'INVALID_RESET_URL', 'resetUrl must be an http(s) URL, e.g. https://user:pass@farm.example:8443/api/reset?modem=7');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DomainError('invalid', 'INVALID_RESET_URL', `resetUrl scheme must be http or https, got ${url.protocol.replace(':', '')}`);
  }
  if (!url.hostname) throw new DomainError('invalid', 'INVALID_RESET_URL', 'resetUrl needs a host');
  return { endpoint: `${url.protocol}//${url.host}${url.pathname}` };
}

function safeDecode(value: string): string {
  try { return decodeURIComponent(value); } catch { return value; }
}
