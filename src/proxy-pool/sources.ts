import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { uuidv7 } from '../../adapters/ids.ts';
import { checkUrlHost, FetchRefused, guardedFetch } from '../../adapters/proxy-pool/fetch.ts';
import { detectParser, parserNamed } from '../../adapters/proxy-pool/parsers/registry.ts';
import { poolScrapeStreamId, proxyKey, type DiscoveredProxy } from '../../domain/proxy-pool/proxies.ts';
import { poolSourceStreamId, sourceDecider, type SourceFields } from '../../domain/proxy-pool/sources.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { existingProxyIds } from '../../projections/proxy-pool-proxies.ts';
import { findSource, type SourceRow } from '../../projections/proxy-pool-sources.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { RYW, type PoolContext } from './context.ts';

/** A proxy's id is a hash of ip:port, uuid-shaped: the same proxy from two lists is one proxy. */
export function proxyIdOf(ip: string, port: number): string {
  const h = createHash('sha256').update(proxyKey(ip, port)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function validateCron(expr: string | null | undefined) {
  if (expr === null || expr === undefined) return;
  try {
    new Cron(expr, { paused: true }).stop();
  } catch (e) {
    throw new DomainError('invalid', 'INVALID_CRON', `cron_schedule "${expr}" is not a cron expression: ${(e as Error).message}`);
  }
}

const fetchOpts = (ctx: PoolContext) => ({ allowedPrivateCidrs: ctx.allowedPrivateCidrs, maxBytes: ctx.infra.config.POOL_SOURCE_MAX_BYTES, timeoutMs: ctx.infra.config.POOL_SOURCE_TIMEOUT_MS });

async function fetchSource(ctx: PoolContext, url: string) {
  try {
    const res = await guardedFetch(url, fetchOpts(ctx));
    if (res.status < 200 || res.status > 299) throw new DomainError('unavailable', 'SOURCE_FETCH_FAILED', `the source answered ${res.status}`, { status: res.status });
    return res;
  } catch (e) {
    if (e instanceof FetchRefused) {
      const kind = e.code === 'URL_BLOCKED' || e.code === 'URL_INVALID' ? 'invalid' : 'unavailable';
      throw new DomainError(kind, e.code === 'URL_BLOCKED' ? 'SOURCE_URL_BLOCKED' : e.code === 'URL_INVALID' ? 'INVALID_SOURCE_URL' : 'SOURCE_FETCH_FAILED', e.message);
    }
    throw e;
  }
}

/**
 * POST /sources: the parser named must be registered; without one the registry picks by supports()
 * on the fetched content. 422 when none fits.
 */
export async function addSource(ctx: PoolContext, ownerId: string, input: Omit<SourceFields, 'parserName'> & { parserName?: string }, origin: CommandOrigin) {
  validateCron(input.cronSchedule);
  let parserName = input.parserName;
  if (parserName !== undefined && !parserNamed(parserName)) {
    throw new DomainError('unprocessable', 'PARSER_NOT_FOUND', `no parser named "${parserName}"`, { parsers: registeredParserNames() });
  }
  if (parserName === undefined) {
    const res = await fetchSource(ctx, input.url);
    const found = detectParser(res.body, res.contentType);
    if (!found) throw new DomainError('unprocessable', 'PARSER_NOT_DETECTED', 'no registered parser supports this source\'s content', { parsers: registeredParserNames() });
    parserName = found.name;
  } else {
    // Refuse a URL the guard would refuse at scrape time, now.
    await checkUrlHost(new URL(input.url), fetchOpts(ctx)).catch((e) => {
      if (e instanceof FetchRefused) throw new DomainError('invalid', 'SOURCE_URL_BLOCKED', e.message);
      throw e;
    });
  }
  const sourceId = uuidv7(ctx.infra.clock.now().getTime());
  const handled = await handleCommand(ctx.infra, sourceDecider, poolSourceStreamId(sourceId), { type: 'AddSource', data: { ...input, parserName, sourceId, ownerId } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-sources'], RYW(ctx));
  return sourceId;
}

export const registeredParserNames = () => ['plaintext', 'json', 'csv', 'html_table'].filter((n) => parserNamed(n));

export async function updateSource(ctx: PoolContext, sourceId: string, changes: Partial<SourceFields>, origin: CommandOrigin) {
  if (changes.parserName !== undefined && !parserNamed(changes.parserName)) throw new DomainError('unprocessable', 'PARSER_NOT_FOUND', `no parser named "${changes.parserName}"`);
  validateCron(changes.cronSchedule);
  const handled = await handleCommand(ctx.infra, sourceDecider, poolSourceStreamId(sourceId), { type: 'UpdateSource', data: changes }, origin);
  if (handled.position > 0n) await ctx.infra.projector.waitFor(handled.position, ['pp-sources'], RYW(ctx));
}

export async function deleteSource(ctx: PoolContext, sourceId: string, origin: CommandOrigin) {
  const handled = await handleCommand(ctx.infra, sourceDecider, poolSourceStreamId(sourceId), { type: 'DeleteSource' }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-sources'], RYW(ctx));
}

export interface ScrapeResult { source_id: string; proxies_discovered: number; proxies_new: number; proxies_updated: number; duration_ms: number }

/** Fetch → parse → one ProxiesDiscovered batch → the source's summary. A failure is recorded on the source. */
export async function scrapeSource(ctx: PoolContext, sourceId: string, origin: CommandOrigin): Promise<ScrapeResult> {
  const source = await findSource(ctx.infra.database.db, sourceId);
  if (!source) throw new DomainError('not_found', 'SOURCE_NOT_FOUND', 'no such source');
  const started = performance.now();
  let proxies: DiscoveredProxy[];
  try {
    proxies = await fetchAndParse(ctx, source);
  } catch (e) {
    await handleCommand(ctx.infra, sourceDecider, poolSourceStreamId(sourceId), { type: 'RecordScrapeFailure', data: { error: (e as Error).message } }, origin).catch(() => {});
    throw e;
  }
  const existing = await existingProxyIds(ctx.infra.database.db, proxies.map((p) => p.proxyId));
  const scrapeId = uuidv7(ctx.infra.clock.now().getTime());
  let position = 0n;
  if (proxies.length) {
    const at = ctx.infra.clock.now().toISOString();
    const r = await ctx.infra.store.append(poolScrapeStreamId(scrapeId), [{
      type: 'PoolProxiesDiscovered', data: { scrapeId, sourceId, discoveredAt: at, proxies },
      metadata: { correlationId: origin.correlationId, causationId: origin.causationId ?? null, actor: origin.actor, occurredAt: at },
    }], { expectedRevision: 'no_stream' });
    position = r.position;
  }
  const durationMs = Math.round(performance.now() - started);
  const summary = { scrapeId, proxiesDiscovered: proxies.length, proxiesNew: proxies.length - existing.size, proxiesUpdated: existing.size, durationMs };
  const handled = await handleCommand(ctx.infra, sourceDecider, poolSourceStreamId(sourceId), { type: 'RecordScrape', data: summary }, origin);
  await ctx.infra.projector.waitFor(handled.position > position ? handled.position : position, ['pp-sources', 'pp-proxies'], RYW(ctx));
  return { source_id: sourceId, proxies_discovered: summary.proxiesDiscovered, proxies_new: summary.proxiesNew, proxies_updated: summary.proxiesUpdated, duration_ms: durationMs };
}

async function fetchAndParse(ctx: PoolContext, source: SourceRow): Promise<DiscoveredProxy[]> {
  const res = await fetchSource(ctx, source.url);
  const parser = parserNamed(source.parser_name);
  if (!parser) throw new DomainError('unprocessable', 'PARSER_NOT_FOUND', `no parser named "${source.parser_name}"`);
  const options = typeof source.parser_options === 'string' ? JSON.parse(source.parser_options) : source.parser_options;
  return parser.parse(res.body, { defaultProtocol: source.default_protocol, options }).map((p) => ({ proxyId: proxyIdOf(p.ip, p.port), ...p }));
}
