import { isIPv4, isIPv6 } from 'node:net';

/**
 * HTTP-proxy request parsing: `Proxy-Authorization: Basic …` (RFC 7617) and the CONNECT
 * authority-form target (RFC 9110 §9.3.6). Errors carry the gateway code to answer with:
 * no usable credentials → E_AUTH_REQUIRED (407 + challenge), credentials we cannot read →
 * E_AUTH_INVALID.
 */

export interface BasicCredentials {
  username: string;
  password: string;
}

export type ProxyAuthResult =
  | { ok: true; value: BasicCredentials }
  | { ok: false; error: { code: 'E_AUTH_REQUIRED' | 'E_AUTH_INVALID'; message: string } };

const MAX_HEADER_LENGTH = 4096;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Username is everything before the first ':', password everything after (so the password may
 * contain ':' and the username '-'). Base64 must be canonical (padded, no stray characters);
 * decoded text must be UTF-8 without control characters (RFC 7617 §2).
 */
export function parseProxyAuthorization(header: string | undefined): ProxyAuthResult {
  const invalid = (message: string): ProxyAuthResult => ({ ok: false, error: { code: 'E_AUTH_INVALID', message } });
  if (header === undefined || header.trim() === '') {
    return { ok: false, error: { code: 'E_AUTH_REQUIRED', message: 'missing Proxy-Authorization header' } };
  }
  if (header.length > MAX_HEADER_LENGTH) return invalid('Proxy-Authorization header is too long');
  const m = /^\s*([A-Za-z]+)(?:\s+(\S*))?\s*$/.exec(header);
  if (m === null) return invalid('Proxy-Authorization must be "Basic <base64 of username:password>"');
  const [, scheme = '', token = ''] = m;
  if (scheme.toLowerCase() !== 'basic') {
    return { ok: false, error: { code: 'E_AUTH_REQUIRED', message: `unsupported Proxy-Authorization scheme "${scheme.slice(0, 16)}"; use Basic` } };
  }
  if (!BASE64_RE.test(token) || token.length % 4 !== 0) return invalid('Proxy-Authorization Basic credentials are not valid base64');
  let text: string;
  try {
    text = utf8.decode(Buffer.from(token, 'base64'));
  } catch {
    return invalid('Proxy-Authorization credentials are not valid UTF-8');
  }
  const colon = text.indexOf(':');
  if (colon === -1) return invalid('Proxy-Authorization credentials must be username:password');
  const username = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (username === '') return invalid('Proxy-Authorization username is empty');
  if (CONTROL_RE.test(text)) return invalid('Proxy-Authorization credentials contain control characters');
  return { ok: true, value: { username, password } };
}

export interface ConnectTarget {
  /** Lower-cased name, dotted-quad IPv4, or IPv6 without brackets. */
  host: string;
  hostType: 'domain' | 'ipv4' | 'ipv6';
  port: number;
}

export type ConnectAuthorityResult = { ok: true; value: ConnectTarget } | { ok: false; error: { message: string } };

const PORT_RE = /^[0-9]{1,5}$/;
const REG_NAME_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * `host:port` or `[ipv6]:port`; the port is mandatory in CONNECT. Only shape is checked here —
 * whether the host may be reached is the SSRF guard's job (which also reads odd IPv4 forms like
 * `0x7f.1`, reported here as hostType 'domain').
 */
export function parseConnectAuthority(authority: string): ConnectAuthorityResult {
  const bad = (message: string): ConnectAuthorityResult => ({ ok: false, error: { message } });
  if (authority.length === 0) return bad('CONNECT target is empty; expected host:port');
  if (authority.length > 300) return bad('CONNECT target is too long');
  if (authority.includes('@')) return bad('CONNECT target must not contain userinfo ("@")');
  let host: string;
  let portText: string;
  let hostType: ConnectTarget['hostType'];
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return bad('CONNECT target has "[" without a closing "]"');
    host = authority.slice(1, close);
    if (host.includes('%')) return bad('IPv6 zone ids are not allowed in a CONNECT target');
    if (!isIPv6(host)) return bad(`"[${host.slice(0, 64)}]" is not an IPv6 address`);
    host = host.toLowerCase();
    if (authority[close + 1] !== ':') return bad('CONNECT target needs a port: [ipv6]:port');
    portText = authority.slice(close + 2);
    hostType = 'ipv6';
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon === -1) return bad('CONNECT target needs a port: host:port');
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (host.includes(':')) return bad('IPv6 addresses must be bracketed: [2001:db8::1]:443');
    if (host === '') return bad('CONNECT target has an empty host');
    if (host.length > 253 || !REG_NAME_RE.test(host)) return bad(`host ${JSON.stringify(host.slice(0, 64))} contains characters not allowed in a host name`);
    host = host.toLowerCase();
    hostType = isIPv4(host) ? 'ipv4' : 'domain';
  }
  if (!PORT_RE.test(portText)) return bad(`port ${JSON.stringify(portText.slice(0, 16))} must be a number from 1 to 65535`);
  const port = Number(portText);
  if (port < 1 || port > 65535) return bad(`port ${port} must be from 1 to 65535`);
  return { ok: true, value: { host, hostType, port } };
}
