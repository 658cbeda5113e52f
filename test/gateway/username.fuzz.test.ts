import { expect } from 'chai';
import {
  FAILOVER_MODES,
  formatUsername,
  parsePoolUsername,
  POOLS,
  ROTATION_MODES,
  USERNAME_KEYS,
  type ParsedUsername,
} from '../../domain/gateway/username.ts';
import { seededRng, type Rng } from './prng.ts';

const SEED = 0x5eed_0001;
const RUNS = 3000;
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789_';
const ACCOUNT = `${LOWER}ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
const COUNTRIES = ['us', 'de', 'gb', 'fr', 'es', 'pl', 'br', 'jp', 'any'];

function word(rng: Rng, alphabet: string, min: number, max: number): string {
  const n = min + rng.int(max - min + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** Case-insensitive parts of the grammar may arrive in any case; the parser lower-cases them. */
function randomCase(rng: Rng, s: string): string {
  return [...s].map((c) => (rng.bool(0.3) ? c.toUpperCase() : c)).join('');
}

/** A random valid username together with the value the parser must produce for it. */
function generate(rng: Rng): { text: string; expected: ParsedUsername } {
  const expected: ParsedUsername = {
    account: word(rng, ACCOUNT, 1, 20),
    pool: rng.pick(POOLS),
    country: rng.pick(COUNTRIES),
    rotation: 'auto10',
    rotationExplicit: false,
  };
  const pairs: string[][] = [];
  const keys = USERNAME_KEYS.filter(() => rng.bool(0.4));
  for (const key of keys) {
    switch (key) {
      case 'city':
      case 'carrier':
      case 'isp': {
        const v = word(rng, LOWER, 1, 12);
        expected[key] = v;
        pairs.push([key, randomCase(rng, v)]);
        break;
      }
      case 'asn': {
        const v = 1 + rng.int(4294967295);
        expected.asn = v;
        pairs.push([key, String(v)]);
        break;
      }
      case 'sid': {
        const v = word(rng, LOWER, 8, 20);
        expected.sid = v;
        pairs.push([key, v]);
        break;
      }
      case 'rot': {
        const v = rng.pick(ROTATION_MODES);
        expected.rotation = v;
        expected.rotationExplicit = true;
        pairs.push([key, randomCase(rng, v)]);
        break;
      }
      case 'failover': {
        const v = rng.pick(FAILOVER_MODES);
        expected.failover = v;
        pairs.push([key, randomCase(rng, v)]);
        break;
      }
      case 'ttl': {
        const v = 1 + rng.int(3600);
        expected.ttlSeconds = v;
        pairs.push([key, String(v)]);
        break;
      }
      case 'pin': {
        // Segments that are key names would end the pin; the grammar makes that unrepresentable.
        const segs = Array.from({ length: 1 + rng.int(3) }, () => word(rng, LOWER, 1, 8)).filter((s) => !(USERNAME_KEYS as readonly string[]).includes(s));
        if (segs.length === 0) break;
        expected.pin = { value: segs.join('-'), honoured: false };
        pairs.push([key, ...segs.map((s) => randomCase(rng, s))]);
        break;
      }
      default: {
        const unreachable: never = key;
        throw new Error(String(unreachable));
      }
    }
  }
  // Random order; key names in random case.
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [pairs[i], pairs[j]] = [pairs[j] as string[], pairs[i] as string[]];
  }
  const tokens = [`psx_${expected.account}`, randomCase(rng, expected.pool), randomCase(rng, expected.country)];
  for (const [k, ...v] of pairs) tokens.push(randomCase(rng, k as string), ...v);
  return { text: tokens.join('-'), expected };
}

function assertNeverThrowsAndWellFormed(input: string, ctx: string): void {
  let r;
  try {
    r = parsePoolUsername(input);
  } catch (e) {
    throw new Error(`${ctx}: parser threw on ${JSON.stringify(input)}: ${String(e)}`);
  }
  if (r.ok) {
    // Anything accepted must survive a format/parse round trip too.
    expect(parsePoolUsername(formatUsername(r.value)), ctx).to.deep.equal(r);
  } else if (r.notPool) {
    expect(input.startsWith('psx_'), ctx).to.equal(false);
  } else {
    expect(r.error.code, ctx).to.equal('E_USERNAME_PARSE');
    expect(r.error.message, ctx).to.be.a('string').and.not.equal('');
    expect(r.error.message, ctx).to.not.match(/[\r\n]/);
  }
}

describe('gateway/username fuzz (seeded)', () => {
  it(`${RUNS} generated usernames parse to the expected value and round-trip (seed ${SEED})`, () => {
    const rng = seededRng(SEED);
    for (let i = 0; i < RUNS; i++) {
      const { text, expected } = generate(rng);
      const ctx = `run ${i}, seed ${SEED}: ${text}`;
      const r = parsePoolUsername(text);
      expect(r, ctx).to.deep.equal({ ok: true, value: expected });
      const formatted = formatUsername(expected);
      expect(parsePoolUsername(formatted), ctx).to.deep.equal({ ok: true, value: expected });
      // The canonical form is a fixed point.
      expect(formatUsername(expected), ctx).to.equal(formatted);
    }
  });

  it('mutated usernames never throw (seed + 1)', () => {
    const rng = seededRng(SEED + 1);
    const alphabet = ['-', '_', 'a', 'Z', '0', '9', '\u0000', 'é', '\ud800', ' ', ':', '%', 'sid', 'pin', 'rot', 'psx_'];
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < RUNS; i++) {
      let s = generate(rng).text;
      for (let m = 1 + rng.int(3); m > 0; m--) {
        const at = rng.int(s.length + 1);
        switch (rng.int(3)) {
          case 0: s = s.slice(0, at) + s.slice(at + 1); break; // delete
          case 1: s = s.slice(0, at) + rng.pick(alphabet) + s.slice(at); break; // insert
          default: s = s + s.slice(at); break; // duplicate a tail (duplicate keys)
        }
      }
      assertNeverThrowsAndWellFormed(s, `run ${i}, seed ${SEED + 1}`);
      const r = parsePoolUsername(s);
      if (r.ok) accepted++;
      else if (!r.notPool) rejected++;
    }
    // Both outcomes must actually occur, or the mutation is not exercising the parser.
    expect(accepted).to.be.above(50);
    expect(rejected).to.be.above(50);
  });

  it('random byte strings never throw (seed + 2)', () => {
    const rng = seededRng(SEED + 2);
    for (let i = 0; i < RUNS; i++) {
      const bytes = Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256)));
      const encoding = rng.pick(['latin1', 'utf8'] as const);
      const body = bytes.toString(encoding);
      assertNeverThrowsAndWellFormed(body, `run ${i}, seed ${SEED + 2}`);
      assertNeverThrowsAndWellFormed(`psx_${body}`, `run ${i}, seed ${SEED + 2}`);
    }
  });
});
