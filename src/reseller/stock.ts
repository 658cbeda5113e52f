import { countryHealth, offlineSpans } from '../../projections/pool-stock.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { carrierBuckets, facets, inScope, liveEndpoints, placeBuckets, type Endpoint, type FacetSelection, type PoolScope } from './endpoints.ts';

/**
 * Public pool feeds: stock, carriers, cities and facets are counted from one snapshot of the live
 * endpoints (modems and online peers) taken at most once per STOCK_CACHE_MS; incidents from the pool-stock
 * read model, cached as long.
 */
export const STOCK_CACHE_MS = 30_000;
const INCIDENT_WINDOW_MS = 24 * 3600_000;

export interface PoolStock {
  pools: { mbl: Record<string, number>; peer: Record<string, number> };
  totals: { mbl: number; peer: number; all: number };
  generatedAt: string;
}

export interface Incident {
  id: string;
  severity: 'info' | 'minor' | 'major' | 'critical';
  title: string;
  description?: string;
  startedAt: string;
  resolvedAt?: string;
  affects: string[];
}

export function stockFeeds(infra: Infrastructure) {
  let snapshot: { at: number; value: Promise<Endpoint[]> } | undefined;
  let stock: { at: number; value: PoolStock } | undefined;
  let incidents: { at: number; value: { incidents: Incident[]; generatedAt: string } } | undefined;
  const fresh = (c: { at: number } | undefined) => c !== undefined && infra.clock.now().getTime() - c.at < STOCK_CACHE_MS;
  /** The endpoints every stock feed counts from, read at most once per STOCK_CACHE_MS (a failed read is not kept). */
  const endpoints = (): { at: number; value: Promise<Endpoint[]> } => {
    if (fresh(snapshot)) return snapshot!;
    const taken = { at: infra.clock.now().getTime(), value: liveEndpoints(infra) };
    taken.value.catch(() => { if (snapshot === taken) snapshot = undefined; });
    snapshot = taken;
    return taken;
  };
  const scoped = async (pool: PoolScope, country?: string) => {
    const s = endpoints();
    const list = (await s.value).filter(inScope(pool)).filter((e) => country === undefined || e.country === country.toUpperCase());
    return { list, updatedAt: new Date(s.at).toISOString() };
  };

  return {
    async stock(): Promise<PoolStock> {
      if (fresh(stock)) return stock!.value;
      const s = endpoints();
      const pools: PoolStock['pools'] = { mbl: {}, peer: {} };
      for (const e of await s.value) {
        const c = e.country.toLowerCase();
        pools[e.pool][c] = (pools[e.pool][c] ?? 0) + 1;
      }
      const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
      const totals = { mbl: sum(pools.mbl), peer: sum(pools.peer), all: sum(pools.mbl) + sum(pools.peer) };
      stock = { at: s.at, value: { pools, totals, generatedAt: new Date(s.at).toISOString() } };
      return stock.value;
    },

    /**
     * Routable endpoints by carrier/ASN: of one country, or (no country) the whole catalogue keyed by
     * upper-case country code. Modems have no ASN here (asn null, ipType mobile).
     */
    async carriers(q: { country?: string; pool: PoolScope }) {
      const { list, updatedAt } = await scoped(q.pool, q.country);
      if (q.country !== undefined) return { pool: q.pool, updatedAt, country: q.country.toLowerCase(), ...carrierBuckets(list) };
      const byCountry = new Map<string, Endpoint[]>();
      for (const e of list) byCountry.set(e.country, [...(byCountry.get(e.country) ?? []), e]);
      const countries = Object.fromEntries([...byCountry.keys()].sort().map((c) => [c, carrierBuckets(byCountry.get(c)!)]));
      return { pool: q.pool, updatedAt, countries };
    },

    /** Cities and regions of one country (modems registered with a city; peers have none here). */
    async cities(q: { country: string; pool: PoolScope }) {
      const { list, updatedAt } = await scoped(q.pool, q.country);
      return { country: q.country.toUpperCase(), pool: q.pool, updatedAt, ...placeBuckets(list), total: list.length, withoutCity: list.filter((e) => !e.city).length };
    },

    async facets(q: { country: string; pool: PoolScope } & FacetSelection) {
      const { list, updatedAt } = await scoped(q.pool, q.country);
      return { country: q.country.toUpperCase(), pool: q.pool, updatedAt, ...facets(list, q) };
    },

    /** Offline stretches of modems (open, or ended in the last 24 h) and countries with most of their modems down. */
    async incidents() {
      if (fresh(incidents)) return incidents!.value;
      const now = infra.clock.now();
      const list: Incident[] = [];
      for (const c of await countryHealth(infra.database.db)) {
        if (c.total === 0 || c.online * 2 >= c.total) continue;
        list.push({
          id: `degraded-${c.country_code.toLowerCase()}`, severity: c.online === 0 ? 'critical' : 'major',
          title: `${c.country_code} pool degraded`, description: `${c.online} of ${c.total} modems online`, startedAt: now.toISOString(), affects: [`mbl-${c.country_code.toLowerCase()}`],
        });
      }
      for (const s of await offlineSpans(infra.database.db, new Date(now.getTime() - INCIDENT_WINDOW_MS))) {
        const startedAt = new Date(s.started_at).toISOString();
        list.push({
          id: `offline-${s.device_id}-${new Date(s.started_at).getTime()}`, severity: 'minor', title: `a ${s.carrier} modem in ${s.country_code} went offline`,
          startedAt, ...(s.ended_at ? { resolvedAt: new Date(s.ended_at).toISOString() } : {}), affects: [`mbl-${s.country_code.toLowerCase()}`],
        });
      }
      incidents = { at: now.getTime(), value: { incidents: list, generatedAt: now.toISOString() } };
      return incidents.value;
    },
  };
}
