/**
 * The few coordination needs shared between processes (sticky sessions, rate limits, short-lived
 * claims): Redis in production, a Map in the embedded default where everything runs in one process.
 */
export interface KeyValue {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** ttlMs > 0 expires the key; `onlyIfAbsent` makes it a claim (returns false when the key exists). */
  set(key: string, value: string, options?: { ttlMs?: number; onlyIfAbsent?: boolean }): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Adds one and returns the new count; the first increment starts the key's ttl (a fixed window). */
  increment(key: string, ttlMs: number): Promise<number>;
  /** A small map under one key (e.g. which relay holds which peer); fields do not expire on their own. */
  mapSet(key: string, field: string, value: string): Promise<void>;
  mapDelete(key: string, field: string): Promise<void>;
  mapGetAll(key: string): Promise<Record<string, string>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
