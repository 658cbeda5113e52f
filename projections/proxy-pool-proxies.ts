import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { ProxyEvent } from '../domain/proxy-pool/proxies.ts';
import { observe, score, statusOf, uptimePct, type ScoreState } from '../domain/proxy-pool/score.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/**
 * The pool-score read model of the proxy pool: one row per proxy (ip:port) with what the checks
 * found and the running numbers its score is made of (domain/proxy-pool/score.ts).
 */
export const proxyPoolProxiesProjection: Projection = {
  name: 'pp-proxies',
  eventTypes: ['PoolProxiesDiscovered', 'PoolProxiesChecked'],
  tables: ['pp_proxies'],
  migrations: [{
    id: 'pp-proxies/001-table',
    async up(db) {
      await sql`create table pp_proxies (
        proxy_id text primary key, ip text not null, port integer not null, protocol text not null,
        username text, password text, status text not null default 'unchecked', anonymity text, exit_ip text, country text,
        score double precision not null default 0, avg_latency_ms double precision, uptime_pct double precision,
        checks_total integer not null default 0, checks_passed integer not null default 0, recent double precision not null default 0,
        consecutive_failures integer not null default 0,
        last_checked_at timestamptz, next_check_at timestamptz not null, first_seen_at timestamptz not null, last_seen_at timestamptz not null,
        last_source_id text, tags jsonb not null default '{}')`.execute(db);
      await sql`create index pp_proxies_due on pp_proxies (next_check_at)`.execute(db);
      await sql`create index pp_proxies_score on pp_proxies (score desc, proxy_id desc)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & ProxyEvent;
      switch (e.type) {
        case 'PoolProxiesDiscovered': {
          const d = e.data;
          for (let i = 0; i < d.proxies.length; i += 500) {
            const rows = d.proxies.slice(i, i + 500).map((p) => ({
              proxy_id: p.proxyId, ip: p.ip, port: p.port, protocol: p.protocol, username: p.username, password: p.password,
              next_check_at: d.discoveredAt, first_seen_at: d.discoveredAt, last_seen_at: d.discoveredAt, last_source_id: d.sourceId,
            }));
            await trx.insertInto('pp_proxies').values(rows)
              .onConflict((oc) => oc.column('proxy_id').doUpdateSet({ last_seen_at: sql`excluded.last_seen_at`, last_source_id: sql`excluded.last_source_id` }))
              .execute();
          }
          break;
        }
        case 'PoolProxiesChecked': {
          const checks = e.data.checks;
          const ids = [...new Set(checks.map((c) => c.proxyId))];
          const current = new Map<string, Record<string, any>>();
          for (let i = 0; i < ids.length; i += 1000) {
            for (const row of await trx.selectFrom('pp_proxies').selectAll().where('proxy_id', 'in', ids.slice(i, i + 1000)).execute()) current.set(row.proxy_id, row);
          }
          for (const c of checks) {
            const row = current.get(c.proxyId);
            if (!row) continue; // a check of a proxy this read model never saw (cannot happen in order; harmless)
            const before: ScoreState = {
              checksTotal: row.checks_total, checksPassed: row.checks_passed, recent: Number(row.recent),
              avgLatencyMs: row.avg_latency_ms === null ? null : Number(row.avg_latency_ms),
              lastPassed: row.status === 'unchecked' ? null : row.status === 'active',
            };
            const after = observe(before, c.passed, c.latencyMs);
            const next = {
              ...row,
              status: statusOf(after), score: score(after), avg_latency_ms: after.avgLatencyMs, uptime_pct: uptimePct(after),
              checks_total: after.checksTotal, checks_passed: after.checksPassed, recent: after.recent,
              consecutive_failures: c.passed ? 0 : row.consecutive_failures + 1,
              last_checked_at: c.checkedAt, next_check_at: c.nextCheckAt,
              // What a failed check could not see is kept from the last good one.
              protocol: c.protocol ?? row.protocol, anonymity: c.anonymity ?? row.anonymity, exit_ip: c.exitIp ?? row.exit_ip, country: c.country ?? row.country,
            };
            current.set(c.proxyId, next);
          }
          for (const id of ids) {
            const r = current.get(id);
            if (!r) continue;
            await trx.updateTable('pp_proxies').set({
              status: r.status, score: r.score, avg_latency_ms: r.avg_latency_ms, uptime_pct: r.uptime_pct, checks_total: r.checks_total,
              checks_passed: r.checks_passed, recent: r.recent, consecutive_failures: r.consecutive_failures, last_checked_at: r.last_checked_at,
              next_check_at: r.next_check_at, protocol: r.protocol, anonymity: r.anonymity, exit_ip: r.exit_ip, country: r.country,
            }).where('proxy_id', '=', id).execute();
          }
          break;
        }
        default:
          assertNever(e);
      }
    }
  },
};

export interface ProxyRow {
  proxy_id: string; ip: string; port: number; protocol: string; username: string | null; password: string | null;
  status: string; anonymity: string | null; exit_ip: string | null; country: string | null; score: number;
  avg_latency_ms: number | null; uptime_pct: number | null; checks_total: number; consecutive_failures: number;
  last_checked_at: Date | string | null; next_check_at: Date | string; first_seen_at: Date | string; tags: Record<string, string> | string;
}

export const findProxy = async (db: Db, proxyId: string) =>
  (await db.selectFrom('pp_proxies').selectAll().where('proxy_id', '=', proxyId).executeTakeFirst()) as ProxyRow | undefined;

/** Proxies whose next check is due, oldest first. */
export const dueProxies = async (db: Db, now: Date, limit: number, exclude: readonly string[] = []) => {
  let q = db.selectFrom('pp_proxies').selectAll().where('next_check_at', '<=', now);
  if (exclude.length) q = q.where('proxy_id', 'not in', exclude);
  return (await q.orderBy('next_check_at').limit(limit).execute()) as ProxyRow[];
};

export const existingProxyIds = async (db: Db, ids: readonly string[]) => {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    for (const r of await db.selectFrom('pp_proxies').select('proxy_id').where('proxy_id', 'in', ids.slice(i, i + 1000)).execute()) out.add(r.proxy_id);
  }
  return out;
};
