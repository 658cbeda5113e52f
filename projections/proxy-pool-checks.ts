import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { ProxyEvent } from '../domain/proxy-pool/proxies.ts';
import type { Projection } from './projection.ts';

/** The stage results of checks (checker_name, stage, passed, latency_ms, detail, created_at): the newest 50 per proxy. */
export const CHECKS_KEPT_PER_PROXY = 50;

export const proxyPoolChecksProjection: Projection = {
  name: 'pp-checks',
  eventTypes: ['PoolProxiesChecked'],
  tables: ['pp_checks'],
  migrations: [{
    id: 'pp-checks/001-table',
    async up(db) {
      await sql`create table pp_checks (
        id bigserial primary key, proxy_id text not null, checker_name text not null, stage integer not null, passed boolean not null,
        latency_ms double precision, detail text not null, created_at timestamptz not null)`.execute(db);
      await sql`create index pp_checks_proxy on pp_checks (proxy_id, id desc)`.execute(db);
    },
  }],
  async apply(trx, events) {
    const rows: Array<Record<string, unknown>> = [];
    const touched = new Set<string>();
    for (const event of events) {
      const e = event as RecordedEvent & ProxyEvent;
      if (e.type !== 'PoolProxiesChecked') continue;
      for (const c of e.data.checks) {
        touched.add(c.proxyId);
        for (const r of c.results) rows.push({ proxy_id: c.proxyId, checker_name: r.checker_name, stage: r.stage, passed: r.passed, latency_ms: r.latency_ms, detail: r.detail.slice(0, 500), created_at: c.checkedAt });
      }
    }
    for (let i = 0; i < rows.length; i += 1000) await trx.insertInto('pp_checks').values(rows.slice(i, i + 1000)).execute();
    // Bounded history: older results fall off (the proxy's running numbers in pp_proxies keep their effect).
    const ids = [...touched];
    for (let i = 0; i < ids.length; i += 1000) {
      await sql`delete from pp_checks where id in (
        select id from (select id, row_number() over (partition by proxy_id order by id desc) as rn from pp_checks where proxy_id in (${sql.join(ids.slice(i, i + 1000))})) ranked
        where rn > ${CHECKS_KEPT_PER_PROXY})`.execute(trx);
    }
  },
};

export async function recentChecks(db: Db, proxyId: string, limit = 20) {
  const rows = await db.selectFrom('pp_checks').select(['checker_name', 'stage', 'passed', 'latency_ms', 'detail', 'created_at'])
    .where('proxy_id', '=', proxyId).orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ checker_name: r.checker_name, stage: r.stage, passed: r.passed, latency_ms: r.latency_ms === null ? null : Number(r.latency_ms), detail: r.detail, created_at: new Date(r.created_at).toISOString() }));
}

export async function lastValidationAt(db: Db): Promise<string | null> {
  const row = await db.selectFrom('pp_checks').select(sql<Date | null>`max(created_at)`.as('at')).executeTakeFirst();
  return row?.at ? new Date(row.at).toISOString() : null;
}
