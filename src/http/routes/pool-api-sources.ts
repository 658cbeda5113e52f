import { Router, type Request } from 'express';
import { z } from 'zod';
import { PROTOCOLS } from '../../../domain/proxy-pool/sources.ts';
import { findSource, listSources, type SourceRow } from '../../../projections/proxy-pool-sources.ts';
import type { PoolContext } from '../../proxy-pool/context.ts';
import { addSource, deleteSource, scrapeSource, updateSource } from '../../proxy-pool/sources.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { poolUserOf, requirePoolKey } from './pool-api-auth.ts';

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }).max(2000);
const fields = {
  url: httpUrl,
  parser_name: z.string().min(1).max(50),
  cron_schedule: z.string().trim().min(1).max(100).nullable(),
  default_protocol: z.enum(PROTOCOLS),
  is_active: z.boolean(),
  parser_options: z.record(z.string().max(50), z.string().max(200)),
};
export const createBody = z.strictObject({
  url: fields.url, parser_name: fields.parser_name.optional(), cron_schedule: fields.cron_schedule.default('*/30 * * * *'),
  default_protocol: fields.default_protocol.default('http'), is_active: fields.is_active.default(true), parser_options: fields.parser_options.default({}),
});
export const patchBody = z.strictObject({
  url: fields.url.optional(), parser_name: fields.parser_name.optional(), cron_schedule: fields.cron_schedule.optional(),
  default_protocol: fields.default_protocol.optional(), is_active: fields.is_active.optional(), parser_options: fields.parser_options.optional(),
});
export const listQuery = z.object({
  is_active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export const sourceId = z.string().regex(/^[0-9a-f-]{36}$/, 'is not a source id');
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

export const sourceView = (s: SourceRow) => ({
  id: s.source_id, url: s.url, parser_name: s.parser_name, cron_schedule: s.cron_schedule, default_protocol: s.default_protocol,
  is_active: s.is_active, parser_options: typeof s.parser_options === 'string' ? JSON.parse(s.parser_options) : s.parser_options,
  last_scraped_at: iso(s.last_scraped_at), last_error: s.last_error, created_at: iso(s.created_at),
});

/** /sources CRUD and POST /sources/{id}/scrape (seed 003). The pool is shared: every user sees every source. */
export function poolApiSourcesRouter(ctx: PoolContext): Router {
  const router = Router();
  router.use('/sources', requirePoolKey(ctx));
  const origin = (req: Request) => ({ actor: `pp-user:${poolUserOf(req).user_id}`, correlationId: req.id });
  const existing = async (id: string) => {
    const s = await findSource(ctx.infra.database.db, id);
    if (!s) throw new ApiError(404, 'SOURCE_NOT_FOUND', `no source ${id}`);
    return s;
  };

  router.get('/sources', async (req, res) => {
    const q = parse(listQuery, req.query);
    let afterPosition: string | undefined;
    if (q.cursor) {
      try { afterPosition = z.string().regex(/^\d{1,40}$/).parse(JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8')).p); } catch { throw new ApiError(400, 'INVALID_CURSOR', 'the cursor is not one this API gave out'); }
    }
    const page = await listSources(ctx.infra.database.db, { isActive: q.is_active, afterPosition, limit: q.limit });
    const last = page.rows[page.rows.length - 1];
    res.json({ items: page.rows.map(sourceView), next_cursor: page.more && last ? Buffer.from(JSON.stringify({ p: String(last.position) })).toString('base64url') : null, total_count: page.total });
  });

  router.post('/sources', async (req, res) => {
    const b = parse(createBody, req.body ?? {});
    const id = await addSource(ctx, poolUserOf(req).user_id, {
      url: b.url, parserName: b.parser_name, cronSchedule: b.cron_schedule, defaultProtocol: b.default_protocol, isActive: b.is_active, parserOptions: b.parser_options,
    }, origin(req));
    res.status(201).json(sourceView(await existing(id)));
  });

  router.get('/sources/:id', async (req, res) => { res.json(sourceView(await existing(parse(sourceId, req.params.id)))); });

  router.patch('/sources/:id', async (req, res) => {
    const id = parse(sourceId, req.params.id);
    await existing(id);
    const b = parse(patchBody, req.body ?? {});
    await updateSource(ctx, id, {
      url: b.url, parserName: b.parser_name, cronSchedule: b.cron_schedule, defaultProtocol: b.default_protocol, isActive: b.is_active, parserOptions: b.parser_options,
    }, origin(req));
    res.json(sourceView(await existing(id)));
  });

  router.delete('/sources/:id', async (req, res) => {
    const id = parse(sourceId, req.params.id);
    await existing(id);
    await deleteSource(ctx, id, origin(req));
    res.status(204).end();
  });

  router.post('/sources/:id/scrape', async (req, res) => {
    const id = parse(sourceId, req.params.id);
    await existing(id);
    res.json(await scrapeSource(ctx, id, origin(req)));
  });

  return router;
}
