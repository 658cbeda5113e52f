import type { Anonymity } from '../../../domain/proxy-pool/proxies.ts';
import type { ProxyProtocol } from '../../../domain/proxy-pool/sources.ts';
import type { GeoLookup } from '../geo.ts';
import type { ProxyEndpoint } from './tunnel.ts';

/** What the service's judge echoes: the request's headers and the address it came from. */
export interface JudgeEcho { remote_address: string; headers: Record<string, string>; nonce: string | null }

export interface CheckTarget extends ProxyEndpoint { declaredProtocol: ProxyProtocol }

export interface CheckEnv {
  /** The judge's URL (http); null = protocol detection and anonymity cannot run. */
  judgeUrl: URL | null;
  /** Addresses the judge sees when we call it directly: if a proxy shows one of them, it is transparent. */
  ownAddresses: ReadonlySet<string>;
  timeoutMs: number;
  geo: GeoLookup | null;
}

/** What earlier checkers found, for later ones. */
export interface Findings {
  tcpMs?: number;
  protocol?: ProxyProtocol;
  /** Echo seen through the proxy, and how it was fetched. */
  echo?: JudgeEcho;
  echoMode?: 'forward' | 'connect' | 'socks4' | 'socks5';
  latencyMs?: number;
  anonymity?: Anonymity;
  exitIp?: string;
  country?: string;
}

export interface CheckOutcome { passed: boolean; detail: string; latencyMs?: number | null }

/**
 * A checker plugin. Checkers run by stage, and by priority within a stage (lower first); a stage runs
 * only when every checker of the earlier stages passed, and within a stage a failure stops the rest.
 */
export interface ProxyChecker {
  readonly name: string;
  readonly stage: number;
  readonly priority: number;
  check(target: CheckTarget, env: CheckEnv, findings: Findings): Promise<CheckOutcome>;
}

export const errorText = (e: unknown) => {
  const err = e as { code?: string; message?: string };
  return err?.code === 'ECONNREFUSED' ? 'connection refused' : (err?.message ?? String(e)).slice(0, 200);
};
