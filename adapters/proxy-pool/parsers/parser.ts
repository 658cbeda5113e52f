import { isIP } from 'node:net';
import { PROTOCOLS, type ProxyProtocol } from '../../../domain/proxy-pool/sources.ts';

/** One proxy as a list wrote it. */
export interface ParsedProxy { ip: string; port: number; protocol: ProxyProtocol; username: string | null; password: string | null }

export interface ParseOptions {
  defaultProtocol: ProxyProtocol;
  /** Parser-specific: field or column names (json: ip_field, port_field, protocol_field, …; csv: the same). */
  options: Record<string, string>;
}

/** A source parser plugin: `supports` sniffs the content (for auto-detection), `parse` reads it. */
export interface SourceParser {
  readonly name: string;
  supports(content: string, contentType: string | null): boolean;
  parse(content: string, options: ParseOptions): ParsedProxy[];
}

const ALIASES: Record<string, ProxyProtocol> = { http: 'http', https: 'https', socks4: 'socks4', socks4a: 'socks4', socks5: 'socks5', socks5h: 'socks5', socks: 'socks5' };

export function protocolOf(value: unknown, fallback: ProxyProtocol): ProxyProtocol {
  if (typeof value !== 'string') return fallback;
  return ALIASES[value.trim().toLowerCase().replace(/:\/\/$/, '')] ?? fallback;
}

/** An IP literal and a port in range, else null (host names are not pool proxies: their address can change). */
export function proxyOf(ip: unknown, port: unknown, protocol: ProxyProtocol, username: unknown = null, password: unknown = null): ParsedProxy | null {
  const host = String(ip ?? '').trim().replace(/^\[|\]$/g, '');
  const p = typeof port === 'number' ? port : Number(String(port ?? '').trim());
  if (!isIP(host) || !Number.isInteger(p) || p < 1 || p > 65535) return null;
  const user = typeof username === 'string' && username !== '' ? username : null;
  const pass = typeof password === 'string' && password !== '' ? password : null;
  return { ip: host, port: p, protocol, username: user, password: user ? pass : null };
}

/** `ip:port`, `proto://ip:port`, `user:pass@ip:port`, `proto://user:pass@ip:port` (IPv6 in brackets). */
const LINE = /^(?:([a-z0-9]+):\/\/)?(?:([^:@\s/]+):([^@\s/]*)@)?(\[[0-9a-f:.]+\]|[0-9.]+):(\d{1,5})\b/i;

export function parseProxyLine(line: string, defaultProtocol: ProxyProtocol): ParsedProxy | null {
  const m = LINE.exec(line.trim());
  if (!m) return null;
  return proxyOf(m[4], m[5], protocolOf(m[1], defaultProtocol), m[2] ?? null, m[3] ?? null);
}

export const isProtocol = (v: string): v is ProxyProtocol => (PROTOCOLS as readonly string[]).includes(v);

/** One proxy per ip:port: a list that repeats itself yields one entry (the first). */
export function dedupe(proxies: Iterable<ParsedProxy | null>): ParsedProxy[] {
  const seen = new Map<string, ParsedProxy>();
  for (const p of proxies) if (p && !seen.has(`${p.ip}:${p.port}`)) seen.set(`${p.ip}:${p.port}`, p);
  return [...seen.values()];
}
