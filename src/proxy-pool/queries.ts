import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import type { ProxyRow } from '../../projections/proxy-pool-proxies.ts';

export interface ProxyFilters {
  status?: 'active' | 'dead' | 'unchecked';
  protocol?: string;
  anonymity?: string;
  country?: string;
  min_score?: number;
  max_latency_ms?: number;
  min_uptime_pct?: number;
  verified_within_minutes?: number;
}
export type SortKey = 'score' | 'latency' | 'uptime' | 'last_checked';
export type Order = 'asc' | 'desc';

/** Sort expressions; nulls become values at the far end so the keyset stays total. */
const SORT_SQL: Record<SortKey, string> = {
  score: 'score',
  latency: 'coalesce(avg_latency_ms, 1e15)',
  uptime: 'coalesce(uptime_pct, -1)',
  last_checked: 'coalesce(extract(epoch from last_checked_at) * 1000, 0)::double precision',
};
export const defaultOrder = (sort: SortKey): Order => (sort === 'latency' ? 'asc' : 'desc');

export function applyFilters<T extends SelectQueryBuilder<any, any, any>>(q: T, f: ProxyFilters, now: Date, table = 'pp_proxies'): T {
  const c = (name: string) => `${table}.${name}`;
  let out = q as SelectQueryBuilder<any, any, any>;
  if (f.status) out = out.where(c('status'), '=', f.status);
  if (f.protocol) out = out.where(c('protocol'), '=', f.protocol);
  if (f.anonymity) out = out.where(c('anonymity'), '=', f.anonymity);
  if (f.country) out = out.where(c('country'), '=', f.country.toUpperCase());
  if (f.min_score !== undefined) out = out.where(c('score'), '>=', f.min_score);
  if (f.max_latency_ms !== undefined) out = out.where(c('avg_latency_ms'), '<=', f.max_latency_ms);
  if (f.min_uptime_pct !== undefined) out = out.where(c('uptime_pct'), '>=', f.min_uptime_pct);
  if (f.verified_within_minutes !== undefined) out = out.where(c('last_checked_at'), '>=', new Date(now.getTime() - f.verified_within_minutes * 60_000));
  return out as T;
}

interface Cursor { s: SortKey; o: Order; v: number; id: string }
const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decode(raw: string, sort: SortKey, order: Order): Cursor {
  let c: Cursor;
  try { c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')); } catch { throw new DomainError('invalid', 'INVALID_CURSOR', 'the cursor is not one this API gave out'); }
  if (!c || typeof c.v !== 'number' || typeof c.id !== 'string') throw new DomainError('invalid', 'INVALID_CURSOR', 'the cursor is not one this API gave out');
  if (c.s !== sort || c.o !== order) throw new DomainError('invalid', 'INVALID_CURSOR', 'the cursor belongs to another sort or order; start again without it');
  return c;
}

/**
 * A keyset page: rows after (sort value, id) of the cursor. A proxy added or re-scored while a client
 * pages is seen at most once, and nothing that stays put is skipped or repeated.
 */
export async function listProxies(db: Db, f: ProxyFilters, sort: SortKey, order: Order, limit: number, cursor: string | undefined, now: Date) {
  const expr = sql.raw(SORT_SQL[sort]);
  const total = Number((await applyFilters(db.selectFrom('pp_proxies'), f, now).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  let q = applyFilters(db.selectFrom('pp_proxies'), f, now).selectAll().select(sql<number>`${expr}`.as('sort_value'));
  if (cursor) {
    const c = decode(cursor, sort, order);
    q = q.where(sql<boolean>`(${expr}, proxy_id) ${sql.raw(order === 'desc' ? '<' : '>')} (${c.v}::double precision, ${c.id})`);
  }
  const dir = order === 'desc' ? 'desc' : 'asc';
  const rows = (await q.orderBy(sql`${expr}`, dir).orderBy('proxy_id', dir).limit(limit + 1).execute()) as Array<ProxyRow & { sort_value: number }>;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page,
    next_cursor: rows.length > limit && last ? encode({ s: sort, o: order, v: Number(last.sort_value), id: last.proxy_id }) : null,
    total_count: total,
  };
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
const round = (v: number | null, places: number) => (v === null || v === undefined ? null : Math.round(Number(v) * 10 ** places) / 10 ** places);

export function proxyView(r: ProxyRow) {
  return {
    id: r.proxy_id, ip: r.ip, port: r.port, protocol: r.protocol, status: r.status, anonymity: r.anonymity, exit_ip: r.exit_ip, country: r.country,
    score: round(r.score, 4), avg_latency_ms: round(r.avg_latency_ms, 1), uptime_pct: round(r.uptime_pct, 1),
    last_checked_at: iso(r.last_checked_at), first_seen_at: iso(r.first_seen_at),
    tags: typeof r.tags === 'string' ? JSON.parse(r.tags) : r.tags,
  };
}
