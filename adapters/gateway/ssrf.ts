import { isIPv4, isIPv6 } from 'node:net';
import { promises as dns } from 'node:dns';

/**
 * SSRF guard for proxy targets. The gateway resolves the target itself, checks every address, and
 * connects to the address returned here — never to the hostname again — so DNS rebinding between
 * check and connect is impossible. Resolving here (not at the modem) also keeps targets off the
 * modems' own LANs (e.g. a router admin page at 192.168.8.1).
 *
 * IPv4 is a block list of special-purpose ranges (IANA registry). IPv6 is an allow list: only
 * global unicast 2000::/3 passes, minus its special blocks; transition formats that embed an IPv4
 * address (mapped, NAT64, 6to4) are judged by the embedded address, because that is where the
 * packets end up.
 */

export type BlockReason =
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared-address' // 100.64/10 carrier-grade NAT
  | 'link-local' // incl. cloud metadata 169.254.169.254
  | 'ietf-protocol'
  | 'documentation'
  | 'benchmarking'
  | 'multicast'
  | 'broadcast'
  | 'unique-local'
  | 'site-local'
  | 'reserved';

export type AddressClass = 'public' | BlockReason;

export interface IpAddress {
  family: 4 | 6;
  /** The address as an unsigned integer (32 or 128 bits). */
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting

const V4_PART_RE = /^(?:0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$/;

/**
 * IPv4 the way inet_aton / the WHATWG URL parser read it: 1-4 dot-separated parts, each decimal,
 * octal (leading 0) or hex (0x); the last part fills the remaining bytes (`127.1`, `2130706433`).
 * Clients and resolvers accept these forms, so the guard must too.
 */
export function parseIPv4Loose(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    if (p.length > 12 || !V4_PART_RE.test(p)) return undefined;
    if (p.startsWith('0x') || p.startsWith('0X')) nums.push(p.length === 2 ? 0 : parseInt(p.slice(2), 16));
    else if (p.length > 1 && p.startsWith('0')) nums.push(parseInt(p, 8));
    else nums.push(parseInt(p, 10));
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 256 ** (5 - parts.length)) return undefined;
  return nums.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

/** Strict dotted-quad or IPv6 text (zone id stripped), as DNS answers and config files carry. */
export function parseIp(s: string): IpAddress | undefined {
  if (isIPv4(s)) return { family: 4, value: BigInt(parseIPv4Loose(s) as number) };
  if (!isIPv6(s)) return undefined;
  const text = s.split('%')[0] as string; // zone id names an interface, not an address
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const groups = (side: string): number[] => {
    if (side === '') return [];
    return side.split(':').flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16)];
      const v4 = parseIPv4Loose(g) as number; // isIPv6 guarantees a strict dotted quad here
      return [v4 >>> 16, v4 & 0xffff];
    });
  };
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8) return undefined;
  return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
}

/**
 * An IP literal as it may appear in a target: `[v6]`, v6, or any inet_aton IPv4 form (one trailing
 * dot allowed, as in a fully qualified name).
 */
export function parseIpLiteral(s: string): IpAddress | undefined {
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1);
    return isIPv6(inner) ? parseIp(inner) : undefined;
  }
  if (isIPv6(s)) return parseIp(s);
  const v4 = parseIPv4Loose(s.endsWith('.') ? s.slice(0, -1) : s);
  return v4 === undefined ? undefined : { family: 4, value: BigInt(v4) };
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(16 * (7 - i))) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `addr/prefix` or a bare address; strict address syntax, and host bits must be zero. */
export function parseCidr(s: string): { ok: true; value: Cidr } | { ok: false; error: string } {
  const [addr = '', prefixText, extra] = s.trim().split('/');
  const ip = parseIp(addr);
  if (ip === undefined || addr.includes('%') || extra !== undefined) return { ok: false, error: `${JSON.stringify(s)} is not an IP address or CIDR` };
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return { ok: false, error: `${JSON.stringify(s)}: prefix must be 0-${bits}` };
  const network = maskTo(ip.value, bits, prefix);
  // Host bits set usually means a typo in security config; refuse rather than guess.
  if (network !== ip.value) return { ok: false, error: `${JSON.stringify(s)} has host bits set; did you mean ${formatIp({ family: ip.family, value: network })}/${prefix}?` };
  return { ok: true, value: { family: ip.family, network, prefix } };
}

/** Comma-separated CIDRs (e.g. ALLOWED_PRIVATE_CIDRS="127.0.0.0/8,::1/128"); empty → none. */
export function parseCidrList(s: string): { ok: true; value: Cidr[] } | { ok: false; error: string } {
  const out: Cidr[] = [];
  for (const item of s.split(',')) {
    if (item.trim() === '') continue;
    const r = parseCidr(item);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return { ok: true, value: out };
}

function maskTo(value: bigint, bits: number, prefix: number): bigint {
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  return maskTo(ip.value, ip.family === 4 ? 32 : 128, cidr.prefix) === cidr.network;
}

// ---------------------------------------------------------------------------------------------
// Classification

function table(rows: ReadonlyArray<readonly [string, BlockReason]>): ReadonlyArray<readonly [Cidr, BlockReason]> {
  return rows.map(([text, reason]) => {
    const r = parseCidr(text);
    if (!r.ok) throw new Error(`bad built-in CIDR ${text}: ${r.error}`);
    return [r.value, reason] as const;
  });
}

// First match wins, so more specific rows come first.
const V4_BLOCKS = table([
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared-address'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'ietf-protocol'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const V6_BLOCKS = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['fc00::/7', 'unique-local'],
  ['ff00::/8', 'multicast'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['2001::/23', 'ietf-protocol'], // Teredo, benchmarking, ORCHID, …
]);

const cidr = (text: string): Cidr => (table([[text, 'reserved']])[0] as readonly [Cidr, BlockReason])[0];
const V4_MAPPED = cidr('::ffff:0:0/96');
const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
const GLOBAL_UNICAST = cidr('2000::/3');

/** The IPv4 address an IPv6 transition address carries, if it is one of the formats we follow. */
function embeddedV4(ip: IpAddress): IpAddress | undefined {
  if (ip.family !== 6) return undefined;
  if (cidrContains(V4_MAPPED, ip) || cidrContains(NAT64, ip)) return { family: 4, value: ip.value & 0xffffffffn };
  if (cidrContains(SIX_TO_FOUR, ip)) return { family: 4, value: (ip.value >> 80n) & 0xffffffffn };
  return undefined;
}

export function classifyIp(ip: IpAddress): AddressClass {
  if (ip.family === 4) {
    for (const [range, reason] of V4_BLOCKS) if (cidrContains(range, ip)) return reason;
    return 'public';
  }
  const v4 = embeddedV4(ip);
  if (v4 !== undefined) return classifyIp(v4);
  for (const [range, reason] of V6_BLOCKS) if (cidrContains(range, ip)) return reason;
  return cidrContains(GLOBAL_UNICAST, ip) ? 'public' : 'reserved';
}

/** 'public', or why the address must not be a proxy target. Accepts any IP literal form. */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseIpLiteral(ip);
  return parsed === undefined ? 'invalid' : classifyIp(parsed);
}

// ---------------------------------------------------------------------------------------------
// Resolution

export interface LookupAddress {
  address: string;
  family: number;
}
export type LookupFn = (hostname: string) => Promise<readonly LookupAddress[]>;

/** All addresses, in resolver order (Node 20's default is verbatim). */
export const systemLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true });

export interface ResolveOptions {
  lookup: LookupFn;
  /** Non-public ranges explicitly opened (tests of the real gateway need loopback). */
  allowedPrivateCidrs?: readonly Cidr[];
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type SsrfCheckResult =
  /** Connect to `address` (the first answer); `addresses` are all answers, for fallback. */
  | { ok: true; address: string; family: 4 | 6; addresses: ResolvedAddress[] }
  | { ok: false; kind: 'blocked'; address: string; reason: BlockReason; message: string }
  | { ok: false; kind: 'invalid-host'; message: string }
  | { ok: false; kind: 'resolve-failed'; message: string };

const LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const NUMERIC_LABEL_RE = /^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/;

/**
 * Resolve `host` (name or IP literal in any form) and check every address. If any answer is
 * blocked the whole target is: a mixed answer is what a rebinding attack looks like.
 * IPv4-mapped IPv6 answers are returned as plain IPv4, the address the packets actually go to.
 */
export async function resolveAndCheck(host: string, options: ResolveOptions): Promise<SsrfCheckResult> {
  const allowed = options.allowedPrivateCidrs ?? [];
  const literal = literalOf(host);
  if (literal === 'invalid') return { ok: false, kind: 'invalid-host', message: `${quote(host)} is not a valid host name or IP address` };
  if (literal !== undefined) return check([literal], allowed);

  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const lower = name.toLowerCase();
  // RFC 6761: localhost names never leave the machine; do not trust a resolver to agree.
  if (lower === 'localhost' || lower.endsWith('.localhost')) {
    return check([{ family: 4, value: 0x7f000001n }], allowed);
  }
  let answers: readonly LookupAddress[];
  try {
    answers = await options.lookup(name);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return { ok: false, kind: 'resolve-failed', message: `could not resolve ${quote(host)}${typeof code === 'string' ? ` (${code})` : ''}` };
  }
  if (answers.length === 0) return { ok: false, kind: 'resolve-failed', message: `${quote(host)} has no addresses` };
  const ips: IpAddress[] = [];
  for (const a of answers) {
    const ip = parseIp(a.address);
    if (ip === undefined) return { ok: false, kind: 'blocked', address: String(a.address), reason: 'invalid', message: `resolver returned an invalid address for ${quote(host)}` };
    ips.push(ip);
  }
  return check(ips, allowed);
}

/** undefined: a host name to resolve; 'invalid': neither a valid name nor a valid literal. */
function literalOf(host: string): IpAddress | 'invalid' | undefined {
  if (host.length === 0 || host.length > 255) return 'invalid';
  if (host.startsWith('[') || host.includes(':')) return parseIpLiteral(host) ?? 'invalid';
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = name.split('.');
  // WHATWG URL rule: a host whose last label is numeric is an IPv4 address or nothing (`1.2.3.999`).
  if (NUMERIC_LABEL_RE.test(labels[labels.length - 1] as string)) return parseIpLiteral(host) ?? 'invalid';
  if (name.length > 253 || !labels.every((l) => LABEL_RE.test(l))) return 'invalid';
  return undefined;
}

function check(ips: readonly IpAddress[], allowed: readonly Cidr[]): SsrfCheckResult {
  const out: ResolvedAddress[] = [];
  for (const raw of ips) {
    const ip = raw.family === 6 && cidrContains(V4_MAPPED, raw) ? { family: 4 as const, value: raw.value & 0xffffffffn } : raw;
    const cls = classifyIp(ip);
    const address = formatIp(ip);
    if (cls !== 'public' && !allowed.some((c) => cidrContains(c, ip))) {
      return { ok: false, kind: 'blocked', address, reason: cls, message: `target address ${address} is ${cls.replace('-', ' ')}` };
    }
    out.push({ address, family: ip.family });
  }
  const first = out[0] as ResolvedAddress;
  return { ok: true, address: first.address, family: first.family, addresses: out };
}

function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}
