import { onlineModems, peerNetworks } from '../../projections/pool-stock.ts';
import type { IpType } from '../../domain/peers/events.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { onlinePeers } from '../peers/presence.ts';

/**
 * Every endpoint the gateway can route to right now, in one list the public feeds count from: the pool
 * modems online (pool-stock read model, with the fleet's city and region) and the peers online (presence,
 * with the ASN the relay classified them on). Counts only ever leave this module, never IPs.
 */
export interface Endpoint {
  pool: 'mbl' | 'peer';
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  asn: number | null;
  /** Carrier or ISP name; null when the peer's ASN is unknown (the feeds' `other`). */
  carrier: string | null;
  ipType: IpType;
  city: string | null;
  region: string | null;
}

export type PoolScope = 'peer' | 'mbl' | 'all';

export async function liveEndpoints(infra: Infrastructure): Promise<Endpoint[]> {
  const db = infra.database.db;
  const modems: Endpoint[] = (await onlineModems(db)).map((m) => ({
    pool: 'mbl', country: m.country_code.toUpperCase(), asn: null, carrier: m.carrier, ipType: 'mobile', city: m.city, region: m.region,
  }));
  // a peer without a country cannot be asked for by country, so it is not country stock
  const peers = (await onlinePeers(infra.kv, infra.clock.now().getTime())).filter((p) => p.country);
  const networks = new Map((await peerNetworks(db, peers.map((p) => p.deviceId))).map((n) => [n.device_id, n]));
  const peerEndpoints: Endpoint[] = peers.map((p) => {
    const n = networks.get(p.deviceId);
    const asn = n?.asn ?? null;
    return { pool: 'peer', country: p.country!.toUpperCase(), asn, carrier: n?.asn_org ?? (asn !== null ? `AS${asn}` : null), ipType: p.ipType, city: null, region: null };
  });
  return [...modems, ...peerEndpoints];
}

/** The username's form of a place or carrier: `Los Angeles` → `losangeles` ([a-z0-9] only). */
export const slug = (s: string) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]/g, '');

export const inScope = (pool: PoolScope) => (e: Endpoint) => pool === 'all' || e.pool === pool;

export interface CarrierEntry { id: string; asn: number | null; name: string; ipType: string; pool: string; count: number }

/** Named carriers by count (desc), and how many endpoints have no carrier name. */
export function carrierBuckets(list: Endpoint[]): { total: number; other: number; carriers: CarrierEntry[] } {
  const buckets = new Map<string, CarrierEntry>();
  let other = 0;
  for (const e of list) {
    if (e.carrier === null) { other++; continue; }
    // one carrier per name and access type: the modems of a carrier and the peers on its ASN merge
    const id = `${slug(e.carrier)}|${e.ipType}`;
    const b = buckets.get(id) ?? { id, asn: e.asn, name: e.carrier, ipType: e.ipType, pool: e.pool, count: 0 };
    b.asn ??= e.asn;
    if (b.pool !== e.pool) b.pool = 'all';
    b.count++;
    buckets.set(id, b);
  }
  const carriers = [...buckets.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  return { total: list.length, other, carriers };
}

/** Cities (slug, label, count) and regions (slug, count), most stock first. */
export function placeBuckets(list: Endpoint[]) {
  const cities = new Map<string, { city: string; label: string; count: number }>();
  const regions = new Map<string, { region: string; count: number }>();
  for (const e of list) {
    const city = e.city ? slug(e.city) : '';
    if (city) {
      const c = cities.get(city) ?? { city, label: e.city!, count: 0 };
      c.count++;
      cities.set(city, c);
    }
    const region = e.region ? slug(e.region) : '';
    if (region) {
      const r = regions.get(region) ?? { region, count: 0 };
      r.count++;
      regions.set(region, r);
    }
  }
  const byCount = <T extends { count: number }>(m: Map<string, T>, name: (t: T) => string) => [...m.values()].sort((a, b) => b.count - a.count || name(a).localeCompare(name(b)));
  return { cities: byCount(cities, (c) => c.city), regions: byCount(regions, (r) => r.region) };
}

export interface FacetSelection { city?: string; carrier?: string; state?: string }

/** A carrier selection is an ASN (`7922`), a facet id (`comcast|residential`) or a name (`comcast`). */
const carrierMatches = (e: Endpoint, want: string) => {
  if (e.carrier === null) return false;
  if (/^\d+$/.test(want)) return e.asn === Number(want);
  return `${slug(e.carrier)}|${e.ipType}` === want.toLowerCase() || slug(e.carrier) === slug(want);
};

/**
 * Cross-filtered pickers for one country: each list is narrowed by the other pickers' selections (not
 * its own), the counts below them by all of them. Peers carry no city here (cityIneligible: the relay
 * knows their country and network, not their town); a modem registered without a city is withoutCity.
 */
export function facets(list: Endpoint[], sel: FacetSelection) {
  const byCity = (e: Endpoint) => !sel.city || (e.city !== null && slug(e.city) === slug(sel.city));
  const byState = (e: Endpoint) => !sel.state || (e.region !== null && slug(e.region) === slug(sel.state));
  const byCarrier = (e: Endpoint) => !sel.carrier || carrierMatches(e, sel.carrier);
  const matching = list.filter((e) => byCity(e) && byState(e) && byCarrier(e));
  const { carriers } = carrierBuckets(list.filter((e) => byCity(e) && byState(e)));
  const { cities } = placeBuckets(list.filter((e) => byCarrier(e) && byState(e)));
  const states = placeBuckets(list.filter((e) => byCarrier(e) && byCity(e))).regions.map((r) => ({ state: r.region, count: r.count }));
  const ipTypes = { mobile: 0, residential: 0, datacenter: 0, unclassified: 0 };
  for (const e of matching) ipTypes[e.ipType in ipTypes ? e.ipType : 'unclassified']++;
  return {
    cities, states, carriers,
    total: matching.length, other: matching.filter((e) => e.carrier === null).length, ipTypes,
    withoutCity: matching.filter((e) => e.pool === 'mbl' && !e.city).length,
    cityIneligible: matching.filter((e) => e.pool === 'peer').length,
  };
}
