import { DomainError } from '../shared/errors.ts';
import type { ProxyProtocol } from './sources.ts';

/**
 * Proxies of the pool are facts observed from outside (a list said so, a check saw so): the events
 * record them; there is no decision to refuse. A proxy's id is derived from ip:port, so the same
 * proxy found by two sources (or twice) is one proxy.
 * Both events are batches on their own streams (`pp-scrape-<id>`, `pp-checks-<id>`): a scrape of
 * 10,000 lines is one append, and a checker run flushes many results at once.
 */
export interface DiscoveredProxy { proxyId: string; ip: string; port: number; protocol: ProxyProtocol; username: string | null; password: string | null }

export const ANONYMITIES = ['transparent', 'anonymous', 'elite'] as const;
export type Anonymity = (typeof ANONYMITIES)[number];

export interface StageResult { checker_name: string; stage: number; passed: boolean; latency_ms: number | null; detail: string }

export interface ProxyCheck {
  proxyId: string;
  checkedAt: string;
  /** The proxy answered and carried a request (tcp_connect and protocol detection passed). */
  passed: boolean;
  protocol: ProxyProtocol | null;
  anonymity: Anonymity | null;
  exitIp: string | null;
  country: string | null;
  latencyMs: number | null;
  results: StageResult[];
  nextCheckAt: string;
}

export type ProxyEvent =
  | { type: 'PoolProxiesDiscovered'; data: { scrapeId: string; sourceId: string; discoveredAt: string; proxies: DiscoveredProxy[] } }
  | { type: 'PoolProxiesChecked'; data: { runId: string; checks: ProxyCheck[] } };

export const poolScrapeStreamId = (scrapeId: string) => `pp-scrape-${scrapeId}`;
export const poolChecksStreamId = (runId: string) => `pp-checks-${runId}`;

/** A stable id for ip:port (uuid-shaped, from a hash the caller computes). */
export function proxyKey(ip: string, port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DomainError('invalid', 'INVALID_PORT', `port ${port} is out of range`);
  return `${ip.toLowerCase()}:${port}`;
}
