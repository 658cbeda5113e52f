import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';

/**
 * Proxy sources (seed 003): a URL, a parser, a cron schedule. Stream `pp-source-<id>`.
 * A scrape's summary lands here; the proxies it found travel in ProxiesDiscovered on their own
 * stream (`pp-scrape-<scrapeId>`), so a source's stream stays small however often it is scraped.
 */
export const PROTOCOLS = ['http', 'https', 'socks4', 'socks5'] as const;
export type ProxyProtocol = (typeof PROTOCOLS)[number];

export interface SourceFields {
  url: string;
  parserName: string;
  cronSchedule: string | null;
  defaultProtocol: ProxyProtocol;
  isActive: boolean;
  /** Parser options, e.g. json field names or csv column names. */
  parserOptions: Record<string, string>;
}

export type SourceEvent =
  | { type: 'PoolSourceAdded'; data: SourceFields & { sourceId: string; ownerId: string; addedAt: string } }
  | { type: 'PoolSourceUpdated'; data: Partial<SourceFields> & { sourceId: string; updatedAt: string } }
  | { type: 'PoolSourceDeleted'; data: { sourceId: string; deletedAt: string } }
  | { type: 'PoolSourceScraped'; data: { sourceId: string; scrapeId: string; proxiesDiscovered: number; proxiesNew: number; proxiesUpdated: number; durationMs: number; scrapedAt: string } }
  | { type: 'PoolSourceScrapeFailed'; data: { sourceId: string; error: string; failedAt: string } };

export type SourceState = { status: 'none' } | { status: 'active'; sourceId: string; fields: SourceFields } | { status: 'deleted'; sourceId: string; fields: SourceFields };

export type SourceCommand =
  | { type: 'AddSource'; data: SourceFields & { sourceId: string; ownerId: string } }
  | { type: 'UpdateSource'; data: Partial<SourceFields> }
  | { type: 'DeleteSource' }
  | { type: 'RecordScrape'; data: { scrapeId: string; proxiesDiscovered: number; proxiesNew: number; proxiesUpdated: number; durationMs: number } }
  | { type: 'RecordScrapeFailure'; data: { error: string } };

export const poolSourceStreamId = (sourceId: string) => `pp-source-${sourceId}`;

export const sourceDecider = {
  initialState: (): SourceState => ({ status: 'none' }),

  evolve(state: SourceState, event: SourceEvent): SourceState {
    switch (event.type) {
      case 'PoolSourceAdded': {
        const { sourceId, ownerId: _o, addedAt: _a, ...fields } = event.data;
        return { status: 'active', sourceId, fields };
      }
      case 'PoolSourceUpdated': {
        if (state.status === 'none') return state;
        const { sourceId: _s, updatedAt: _u, ...changes } = event.data;
        return { ...state, fields: { ...state.fields, ...changes } };
      }
      case 'PoolSourceDeleted':
        return state.status === 'none' ? state : { status: 'deleted', sourceId: state.sourceId, fields: state.fields };
      case 'PoolSourceScraped':
      case 'PoolSourceScrapeFailed':
        return state;
      default:
        return assertNever(event);
    }
  },

  decide(command: SourceCommand, state: SourceState, { now }: DecisionContext): SourceEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'AddSource':
        if (state.status !== 'none') throw new DomainError('conflict', 'SOURCE_EXISTS', 'this source exists');
        return [{ type: 'PoolSourceAdded', data: { ...command.data, addedAt: at } }];
      case 'UpdateSource': {
        const s = requireSource(state);
        const changes = Object.fromEntries(Object.entries(command.data).filter(([k, v]) => v !== undefined && JSON.stringify(v) !== JSON.stringify(s.fields[k as keyof SourceFields])));
        if (Object.keys(changes).length === 0) return [];
        return [{ type: 'PoolSourceUpdated', data: { ...changes, sourceId: s.sourceId, updatedAt: at } }];
      }
      case 'DeleteSource': {
        const s = requireSource(state);
        return [{ type: 'PoolSourceDeleted', data: { sourceId: s.sourceId, deletedAt: at } }];
      }
      case 'RecordScrape': {
        const s = requireSource(state);
        return [{ type: 'PoolSourceScraped', data: { sourceId: s.sourceId, ...command.data, scrapedAt: at } }];
      }
      case 'RecordScrapeFailure': {
        const s = requireSource(state);
        return [{ type: 'PoolSourceScrapeFailed', data: { sourceId: s.sourceId, error: command.data.error.slice(0, 500), failedAt: at } }];
      }
      default:
        return assertNever(command);
    }
  },
};

function requireSource(state: SourceState): Extract<SourceState, { status: 'active' }> {
  if (state.status !== 'active') throw new DomainError('not_found', 'SOURCE_NOT_FOUND', 'no such source');
  return state;
}
