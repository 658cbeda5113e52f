import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { SourceEvent, SourceFields } from '../domain/proxy-pool/sources.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/** Proxy sources; deleted ones leave the table (their proxies stay in pp_proxies). */
export const proxyPoolSourcesProjection: Projection = {
  name: 'pp-sources',
  eventTypes: ['PoolSourceAdded', 'PoolSourceUpdated', 'PoolSourceDeleted', 'PoolSourceScraped', 'PoolSourceScrapeFailed'],
  tables: ['pp_sources'],
  migrations: [{
    id: 'pp-sources/001-table',
    async up(db) {
      await sql`create table pp_sources (
        source_id text primary key, owner_id text not null, url text not null, parser_name text not null, parser_options jsonb not null,
        cron_schedule text, default_protocol text not null, is_active boolean not null,
        last_scraped_at timestamptz, last_error text, proxies_last_scrape integer, created_at timestamptz not null, position numeric not null)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & SourceEvent;
      switch (e.type) {
        case 'PoolSourceAdded': {
          const d = e.data;
          await trx.insertInto('pp_sources').values({
            source_id: d.sourceId, owner_id: d.ownerId, url: d.url, parser_name: d.parserName, parser_options: JSON.stringify(d.parserOptions),
            cron_schedule: d.cronSchedule, default_protocol: d.defaultProtocol, is_active: d.isActive, created_at: d.addedAt, position: e.position.toString(),
          }).execute();
          break;
        }
        case 'PoolSourceUpdated': {
          const d = e.data;
          const set: Record<string, unknown> = {};
          if (d.url !== undefined) set.url = d.url;
          if (d.parserName !== undefined) set.parser_name = d.parserName;
          if (d.parserOptions !== undefined) set.parser_options = JSON.stringify(d.parserOptions);
          if (d.cronSchedule !== undefined) set.cron_schedule = d.cronSchedule;
          if (d.defaultProtocol !== undefined) set.default_protocol = d.defaultProtocol;
          if (d.isActive !== undefined) set.is_active = d.isActive;
          if (Object.keys(set).length) await trx.updateTable('pp_sources').set(set).where('source_id', '=', d.sourceId).execute();
          break;
        }
        case 'PoolSourceDeleted':
          await trx.deleteFrom('pp_sources').where('source_id', '=', e.data.sourceId).execute();
          break;
        case 'PoolSourceScraped':
          await trx.updateTable('pp_sources').set({ last_scraped_at: e.data.scrapedAt, last_error: null, proxies_last_scrape: e.data.proxiesDiscovered }).where('source_id', '=', e.data.sourceId).execute();
          break;
        case 'PoolSourceScrapeFailed':
          await trx.updateTable('pp_sources').set({ last_scraped_at: e.data.failedAt, last_error: e.data.error }).where('source_id', '=', e.data.sourceId).execute();
          break;
        default:
          assertNever(e);
      }
    }
  },
};

export interface SourceRow {
  source_id: string; owner_id: string; url: string; parser_name: string; parser_options: Record<string, string> | string;
  cron_schedule: string | null; default_protocol: SourceFields['defaultProtocol']; is_active: boolean;
  last_scraped_at: Date | string | null; last_error: string | null; created_at: Date | string; position: string;
}

export const findSource = async (db: Db, sourceId: string) =>
  (await db.selectFrom('pp_sources').selectAll().where('source_id', '=', sourceId).executeTakeFirst()) as SourceRow | undefined;

/** Sources in the order they were added (event position), keyset after `afterPosition`. */
export async function listSources(db: Db, q: { isActive?: boolean; afterPosition?: string; limit: number }) {
  let base = db.selectFrom('pp_sources');
  if (q.isActive !== undefined) base = base.where('is_active', '=', q.isActive);
  const total = Number((await base.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  let page = base.selectAll();
  if (q.afterPosition) page = page.where('position', '>', q.afterPosition);
  const rows = (await page.orderBy('position').limit(q.limit + 1).execute()) as SourceRow[];
  return { rows: rows.slice(0, q.limit), more: rows.length > q.limit, total };
}

export const activeScheduledSources = async (db: Db) =>
  (await db.selectFrom('pp_sources').select(['source_id', 'cron_schedule']).where('is_active', '=', true).where('cron_schedule', 'is not', null).execute()) as Array<{ source_id: string; cron_schedule: string }>;
