import type { GatewayErrorCode } from '../../domain/gateway/errors.ts';

/**
 * The seam between the gateway's listeners (HTTP :7000, SOCKS5 :7001 — protocol, sockets, SSRF,
 * tunnels, byte counting) and its brain (who the client is, which modem carries them, limits,
 * balances). Listeners know nothing of sessions or pools; the brain knows nothing of sockets.
 */
export type GatewayProtocol = 'http' | 'socks5';

export interface GatewayFailure {
  code: GatewayErrorCode;
  /** Shown to the client after the code (the seed's failMsg); the table's default when absent. */
  message?: string;
}

export interface AuthRequest {
  username: string;
  password: string;
  protocol: GatewayProtocol;
  clientAddress: string;
}

/** How to reach the modem that carries a connection. `direct` is for tests and local development only. */
export interface Upstream {
  deviceId: string;
  /** http://user:pass@host:port (CONNECT) or socks5://user:pass@host:port; null = connect directly. */
  url: string | null;
}

export interface Target {
  /** What the client asked for (domain or IP literal). */
  host: string;
  port: number;
}

/**
 * The bytes a connection may still forward (#8: traffic caps held in flight). The listener takes
 * from it synchronously for every chunk, in both directions, before it forwards the chunk; when
 * `take` comes back short it forwards only that much, stops reading, and waits on `refill`.
 */
export interface ByteBudget {
  /** Takes up to `bytes` from the budget; returns how many may be forwarded now (0…bytes). */
  take(bytes: number): number;
  /** After a short take: true once more is available, false when the account's balance is spent (close the tunnel). */
  refill(): Promise<boolean>;
}

/** For brains (tests, benches) that do not limit traffic. */
export const UNLIMITED_BUDGET: ByteBudget = { take: (bytes) => bytes, refill: () => Promise.resolve(true) };

/**
 * One authenticated client connection. The listener calls `route` once per tunnel, reports bytes as
 * they flow, and calls `end` exactly once when the client connection is gone.
 */
export interface Lease {
  /** Who is metered and limited: an x402 session, a pool account. */
  readonly accountKey: string;
  /** Picks the modem for this connection (sticky rules live behind it). */
  route(target: Target): Promise<{ ok: true; upstream: Upstream } | { ok: false; failure: GatewayFailure }>;
  /** The upstream failed to open or died: the next route() must pick a different one. */
  upstreamFailed(upstream: Upstream, error: Error): void;
  /** Spent per chunk before it is forwarded; one budget per account key, shared by its connections. */
  readonly budget: ByteBudget;
  /** Bytes since the last call: up = client → target, down = target → client. */
  meter(bytesUp: number, bytesDown: number): void;
  /** Fires when the connection must close now (balance exhausted, credentials regenerated). */
  readonly revoked: AbortSignal;
  end(): void;
}

export interface GatewayBrain {
  authenticate(request: AuthRequest): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure }>;
}
