/**
 * Pool-gateway username grammar (pure; no I/O):
 *
 *   psx_<account>-<pool>-<country>[-<key>-<value>]…
 *
 * Decisions where the seed is silent:
 * - The `psx_` prefix is case-sensitive. Anything else is not a pool username (`notPool`), because
 *   dedicated-port usernames are routed elsewhere and must not get a pool parse error.
 * - account: 1-64 of [A-Za-z0-9_], case preserved (it is an identity). `-` separates tokens, so it
 *   can never be part of the account.
 * - Everything after the account is case-insensitive and normalised to lower case, except `sid`:
 *   the seed defines its charset as [a-z0-9_] and it names a session, so we do not fold it (two
 *   spellings silently sharing one modem would surprise more than an error).
 * - Key/value tokens may come in any order; formatUsername emits a canonical order.
 * - Empty segments (`--`, trailing `-`), a key without a value, duplicate keys and unknown keys
 *   are errors: a silently ignored typo (`-sdi-…`) would cost the user their stickiness.
 * - city/carrier/isp values: one segment of [a-z0-9_], 1-64 (write `losangeles`, not `los-angeles`).
 * - asn: decimal 1..4294967295 (32-bit ASNs; AS0 is reserved).
 * - ttl: decimal seconds in 1..maxTtlSeconds (default 3600); larger values are rejected, not
 *   clamped, so the user learns the limit instead of getting a shorter session than asked for.
 * - failover: samecarrier | samecountry | none. The seed names only samecarrier.
 * - pin: the seed example `-pin-device-modem001` contains `-`, so pin takes one or more segments
 *   up to the next known key. Kept, but flagged as not honoured (the seed says so).
 * - The whole username is capped at 255 characters (the RFC 1929 limit for SOCKS5).
 */

export type Pool = 'mbl' | 'peer' | 'any';
export type RotationMode = 'sticky' | 'auto5' | 'auto10' | 'auto20' | 'auto60' | 'ondemand' | 'hard';
export type FailoverMode = 'samecarrier' | 'samecountry' | 'none';

export const POOLS: readonly Pool[] = ['mbl', 'peer', 'any'];
export const ROTATION_MODES: readonly RotationMode[] = ['sticky', 'auto5', 'auto10', 'auto20', 'auto60', 'ondemand', 'hard'];
export const FAILOVER_MODES: readonly FailoverMode[] = ['samecarrier', 'samecountry', 'none'];
export const DEFAULT_ROTATION: RotationMode = 'auto10';
export const DEFAULT_MAX_TTL_SECONDS = 3600;
export const USERNAME_PREFIX = 'psx_';
export const MAX_USERNAME_LENGTH = 255;

export interface ParsedUsername {
  account: string;
  pool: Pool;
  /** Lower-case ISO 3166-1 alpha-2 code, or 'any'. */
  country: string;
  city?: string;
  carrier?: string;
  isp?: string;
  asn?: number;
  sid?: string;
  /** Effective mode: DEFAULT_ROTATION when the username has no `rot` token. */
  rotation: RotationMode;
  /** Whether `rot` was written, so formatting reproduces the username the user typed. */
  rotationExplicit: boolean;
  failover?: FailoverMode;
  ttlSeconds?: number;
  pin?: { value: string; honoured: false };
}

export interface UsernameParseError {
  code: 'E_USERNAME_PARSE';
  message: string;
}

export type UsernameParseResult =
  | { ok: true; value: ParsedUsername }
  | { ok: false; notPool: true }
  | { ok: false; notPool: false; error: UsernameParseError };

export interface UsernameParseOptions {
  maxTtlSeconds?: number;
}

type Key = 'city' | 'carrier' | 'isp' | 'asn' | 'sid' | 'rot' | 'failover' | 'ttl' | 'pin';
/** Also the canonical output order; pin last because it is the only multi-segment value. */
export const USERNAME_KEYS: readonly Key[] = ['city', 'carrier', 'isp', 'asn', 'sid', 'rot', 'failover', 'ttl', 'pin'];

const ACCOUNT_RE = /^[A-Za-z0-9_]{1,64}$/;
const NAME_RE = /^[a-z0-9_]{1,64}$/;
const SID_RE = /^[a-z0-9_]{8,64}$/;
const DIGITS_RE = /^[0-9]{1,10}$/;
const MAX_ASN = 4294967295;
const MAX_PIN_LENGTH = 128;

// ISO 3166-1 alpha-2, officially assigned codes.
const ISO_COUNTRIES = new Set(
  ('ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw by bz ' +
    'ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et fi fj fk fm fo fr ' +
    'ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ' +
    'ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt ' +
    'mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw ' +
    'sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug ' +
    'um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw').split(' '),
);
// The common non-ISO spelling gets a pointed hint instead of a generic error.
const COUNTRY_HINTS: Readonly<Record<string, string>> = { uk: 'gb' };

export function isIsoCountry(code: string): boolean {
  return ISO_COUNTRIES.has(code);
}

/** Quote user input for an error message: escaped, and short enough to stay one readable line. */
function q(s: string): string {
  return JSON.stringify(s.length > 32 ? `${s.slice(0, 32)}…` : s);
}

function isKey(s: string): s is Key {
  return (USERNAME_KEYS as readonly string[]).includes(s);
}

class ParseFailure {
  constructor(readonly message: string) {}
}

function fail(message: string): never {
  throw new ParseFailure(message);
}

export function parsePoolUsername(input: string, options: UsernameParseOptions = {}): UsernameParseResult {
  if (typeof input !== 'string' || !input.startsWith(USERNAME_PREFIX)) return { ok: false, notPool: true };
  try {
    return { ok: true, value: parse(input, options.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS) };
  } catch (e) {
    // Only our own failures become parse errors; anything else is a bug and must surface.
    if (e instanceof ParseFailure) return { ok: false, notPool: false, error: { code: 'E_USERNAME_PARSE', message: e.message } };
    throw e;
  }
}

function parse(input: string, maxTtl: number): ParsedUsername {
  if (input.length > MAX_USERNAME_LENGTH) fail(`username is ${input.length} characters; the maximum is ${MAX_USERNAME_LENGTH}`);
  const segments = input.slice(USERNAME_PREFIX.length).split('-');
  const [account = '', poolRaw, countryRaw] = segments;
  if (account === '') fail('missing account after "psx_"; expected psx_<account>-<pool>-<country>');
  const emptyAt = segments.indexOf('');
  if (emptyAt === segments.length - 1) fail('username ends with "-"; every token needs a value');
  if (emptyAt !== -1) fail('username contains an empty token ("--"); tokens are separated by a single "-"');
  if (!ACCOUNT_RE.test(account)) fail(`account ${q(account)} must be 1-64 characters of A-Z, a-z, 0-9 or _`);
  if (poolRaw === undefined) fail('missing pool after the account; expected psx_<account>-<mbl|peer|any>-<country>');
  const pool = poolRaw.toLowerCase();
  if (!isPool(pool)) fail(`unknown pool ${q(poolRaw)}; expected one of: ${POOLS.join(', ')}`);
  if (countryRaw === undefined) fail(`missing country after the pool; expected e.g. psx_${account}-${pool}-us (ISO 3166-1 alpha-2 or any)`);
  const country = parseCountry(countryRaw);

  const out: ParsedUsername = { account, pool, country, rotation: DEFAULT_ROTATION, rotationExplicit: false };
  const seen = new Set<Key>();
  let i = 3;
  while (i < segments.length) {
    const keyRaw = segments[i] as string;
    const key = keyRaw.toLowerCase();
    if (!isKey(key)) fail(`unknown token ${q(keyRaw)}; expected one of: ${USERNAME_KEYS.join(', ')}`);
    if (seen.has(key)) fail(`token "${key}" appears more than once`);
    seen.add(key);
    const value = segments[i + 1];
    if (value === undefined) fail(`token "${key}" needs a value, e.g. ${example(key)}`);
    i += 2;
    switch (key) {
      case 'city':
      case 'carrier':
      case 'isp':
        out[key] = parseName(key, value);
        break;
      case 'asn': {
        const n = DIGITS_RE.test(value) ? Number(value) : NaN;
        if (!(n >= 1 && n <= MAX_ASN)) fail(`asn ${q(value)} must be a number from 1 to ${MAX_ASN}, e.g. -asn-12345`);
        out.asn = n;
        break;
      }
      case 'sid':
        if (!SID_RE.test(value)) {
          fail(`sid ${q(value)} must be 8-64 characters of a-z, 0-9 or _ (got ${value.length}), e.g. -sid-bot01_main`);
        }
        out.sid = value;
        break;
      case 'rot': {
        const mode = value.toLowerCase();
        if (!isRotation(mode)) fail(`rot ${q(value)} must be one of: ${ROTATION_MODES.join(', ')}`);
        out.rotation = mode;
        out.rotationExplicit = true;
        break;
      }
      case 'failover': {
        const mode = value.toLowerCase();
        if (!isFailover(mode)) fail(`failover ${q(value)} must be one of: ${FAILOVER_MODES.join(', ')}`);
        out.failover = mode;
        break;
      }
      case 'ttl': {
        const n = DIGITS_RE.test(value) ? Number(value) : NaN;
        if (!(n >= 1 && n <= maxTtl)) fail(`ttl ${q(value)} must be whole seconds from 1 to ${maxTtl}`);
        out.ttlSeconds = n;
        break;
      }
      case 'pin': {
        // Greedy up to the next known key, so `-pin-device-modem001` keeps its inner "-".
        const parts = [parseName('pin', value)];
        while (i < segments.length && !isKey((segments[i] as string).toLowerCase())) {
          parts.push(parseName('pin', segments[i] as string));
          i += 1;
        }
        const joined = parts.join('-');
        if (joined.length > MAX_PIN_LENGTH) fail(`pin is longer than ${MAX_PIN_LENGTH} characters`);
        out.pin = { value: joined, honoured: false };
        break;
      }
      default: {
        const unreachable: never = key;
        throw new Error(`unhandled username key ${String(unreachable)}`);
      }
    }
  }
  return out;
}

function parseCountry(raw: string): string {
  const c = raw.toLowerCase();
  if (c === 'any' || ISO_COUNTRIES.has(c)) return c;
  const hint = COUNTRY_HINTS[c];
  if (hint !== undefined) fail(`country ${q(raw)} is not an ISO 3166-1 alpha-2 code; use "${hint}"`);
  fail(`country ${q(raw)} must be an ISO 3166-1 alpha-2 code (e.g. us, de, pl) or any`);
}

function parseName(key: Key, raw: string): string {
  const v = raw.toLowerCase();
  if (!NAME_RE.test(v)) fail(`${key} ${q(raw)} must be 1-64 characters of a-z, 0-9 or _ (no spaces or "-"), e.g. ${example(key)}`);
  return v;
}

function example(key: Key): string {
  switch (key) {
    case 'city': return '-city-newyork';
    case 'carrier': return '-carrier-tmobile';
    case 'isp': return '-isp-spectrum';
    case 'asn': return '-asn-12345';
    case 'sid': return '-sid-bot01_main';
    case 'rot': return '-rot-sticky';
    case 'failover': return '-failover-samecarrier';
    case 'ttl': return '-ttl-1800';
    case 'pin': return '-pin-device-modem001';
    default: {
      const unreachable: never = key;
      return String(unreachable);
    }
  }
}

function isPool(s: string): s is Pool {
  return (POOLS as readonly string[]).includes(s);
}
function isRotation(s: string): s is RotationMode {
  return (ROTATION_MODES as readonly string[]).includes(s);
}
function isFailover(s: string): s is FailoverMode {
  return (FAILOVER_MODES as readonly string[]).includes(s);
}

/**
 * Canonical username for a parsed value; parsePoolUsername(formatUsername(p)) deep-equals p for
 * every p the parser produced. `rot` is written when it was explicit or differs from the default.
 */
export function formatUsername(p: ParsedUsername): string {
  const parts = [`${USERNAME_PREFIX}${p.account}`, p.pool, p.country];
  for (const key of USERNAME_KEYS) {
    switch (key) {
      case 'city':
      case 'carrier':
      case 'isp':
      case 'sid':
      case 'failover':
        if (p[key] !== undefined) parts.push(key, p[key]);
        break;
      case 'asn':
      case 'ttl': {
        const n = key === 'asn' ? p.asn : p.ttlSeconds;
        if (n !== undefined) parts.push(key, String(n));
        break;
      }
      case 'rot':
        if (p.rotationExplicit || p.rotation !== DEFAULT_ROTATION) parts.push('rot', p.rotation);
        break;
      case 'pin':
        if (p.pin !== undefined) parts.push('pin', p.pin.value);
        break;
      default: {
        const unreachable: never = key;
        throw new Error(`unhandled username key ${String(unreachable)}`);
      }
    }
  }
  return parts.join('-');
}
