import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Where the gateway's shared state lives, and what happens when it is not there (#8 item 5).
 *
 * Without REDIS_URL everything is in-process (`local`: the embedded single instance, healthy).
 * With Redis the budget ledger, connection and session counts, sticky records and the auth back-off
 * are shared (`shared`). When Redis stops answering the gateway goes `degraded`: known credentials
 * keep working on local state (in-process counts, sticky records, back-off and the budget slices
 * this instance holds plus an in-process ledger) for `graceMs`; after that new connections are
 * refused until Redis is back. The health port answers non-200 while degraded. Each change of
 * state is logged once; when Redis answers again the gateway returns to shared state and
 * re-announces its live connection counts.
 */
export type CoordinationMode = 'local' | 'shared' | 'degraded';

export interface CoordinationStatus {
  status: 'ok' | 'degraded';
  coordination: 'redis' | 'in-process';
  /** Why it is degraded, and for how much longer local state is trusted. */
  reason?: string;
  degradedSince?: string;
  graceEndsAt?: string;
}

export class GatewayCoordination {
  private mode: CoordinationMode;
  private since = 0;
  private reason = '';
  private readonly listeners: Array<() => void> = [];
  private closing = false;

  constructor(
    readonly redis: Redis | null,
    private readonly options: { graceMs: number; now: () => number; logger: Pick<Logger, 'warn' | 'info' | 'error'> },
  ) {
    this.mode = redis ? 'shared' : 'local';
    if (!redis) return;
    // ioredis reconnects by itself; its connection events tell us at once, with or without traffic
    redis.on('close', () => this.lost('the connection to Redis closed'));
    redis.on('error', (err: Error) => this.lost(`Redis: ${err.message}`));
    redis.on('ready', () => this.back());
  }

  /** True when shared state should be used now. */
  get shared(): boolean {
    return this.mode === 'shared';
  }

  /** Degraded past the grace: new connections are refused until Redis is back. */
  get graceExpired(): boolean {
    return this.mode === 'degraded' && this.options.now() - this.since > this.options.graceMs;
  }

  /** Runs `remote` on shared state; falls back to `local` (and goes degraded) when Redis fails. */
  async run<T>(remote: () => Promise<T>, local: () => T | Promise<T>): Promise<T> {
    if (this.mode !== 'shared') return local();
    try {
      return await remote();
    } catch (err) {
      this.lost(`Redis: ${(err as Error).message}`);
      return local();
    }
  }

  /** Called when shared state is reachable again (to re-announce what this instance holds). */
  onRecovered(listener: () => void): void {
    this.listeners.push(listener);
  }

  status(): CoordinationStatus {
    const coordination = this.redis ? 'redis' : 'in-process';
    if (this.mode !== 'degraded') return { status: 'ok', coordination };
    const expired = this.graceExpired;
    return {
      status: 'degraded', coordination,
      reason: `${this.reason}; ${expired ? 'local-state grace is over: new connections are refused' : 'serving on local state'}`,
      degradedSince: new Date(this.since).toISOString(),
      graceEndsAt: new Date(this.since + this.options.graceMs).toISOString(),
    };
  }

  /** Shutting down: the connection closing now is ours, not an outage. */
  close(): void {
    this.closing = true;
  }

  private lost(reason: string): void {
    if (this.mode !== 'shared' || this.closing) return;
    this.mode = 'degraded';
    this.since = this.options.now();
    this.reason = reason;
    this.options.logger.warn({ reason, graceMs: this.options.graceMs }, 'gateway degraded: shared state (Redis) unavailable, serving on local state');
  }

  private back(): void {
    if (this.mode !== 'degraded') return;
    this.mode = 'shared';
    this.options.logger.info({ degradedForMs: this.options.now() - this.since }, 'gateway back on shared state (Redis)');
    for (const listener of this.listeners) {
      try { listener(); } catch (err) { this.options.logger.error({ err }, 'gateway recovery step failed'); }
    }
  }
}
