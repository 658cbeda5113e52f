import { countryHealth, offlineSpans, stockCounts } from '../../projections/pool-stock.ts';
import type { Infrastructure } from '../infrastructure.ts';

/** Public pool feeds, answered from the pool-stock read model and cached for STOCK_CACHE_MS. */
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
  let stock: { at: number; value: PoolStock } | undefined;
  let incidents: { at: number; value: { incidents: Incident[]; generatedAt: string } } | undefined;
  const fresh = (c: { at: number } | undefined) => c !== undefined && infra.clock.now().getTime() - c.at < STOCK_CACHE_MS;

  return {
    async stock(): Promise<PoolStock> {
      if (fresh(stock)) return stock!.value;
      const now = infra.clock.now();
      const pools: PoolStock['pools'] = { mbl: {}, peer: {} };
      for (const r of await stockCounts(infra.database.db)) pools[r.pool][r.country_code.toLowerCase()] = r.online;
      const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
      const totals = { mbl: sum(pools.mbl), peer: sum(pools.peer), all: sum(pools.mbl) + sum(pools.peer) };
      stock = { at: now.getTime(), value: { pools, totals, generatedAt: now.toISOString() } };
      return stock.value;
    },

    /** Online devices of a country by carrier (modems have no ASN here: asn is null). */
    async carriers(country: string) {
      const db = infra.database.db;
      const rows = (await db.selectFrom('pool_stock_devices').select(['pool', 'carrier']).select((eb) => eb.fn.countAll<number>().as('count'))
        .where('country_code', '=', country.toUpperCase()).where('active', '=', true).where('online', '=', true).groupBy(['pool', 'carrier']).execute()) as Array<{ pool: string; carrier: string; count: number | string }>;
      const carriers = rows.map((r) => ({ asn: null, name: r.carrier, ipType: 'mobile', pool: r.pool, count: Number(r.count) })).sort((a, b) => b.count - a.count);
      return { pool: 'mbl', updatedAt: infra.clock.now().toISOString(), country: country.toLowerCase(), total: carriers.reduce((a, c) => a + c.count, 0), other: 0, carriers };
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
