import type { Clock } from '../../src/clock.ts';
import type { KeyValue } from './port.ts';

export class MemoryKeyValue implements KeyValue {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, { value: string; expiresAt: number | null }>();

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  async get(key: string): Promise<string | null> {
    return this.read(key);
  }

  // Synchronous so a check-and-set cannot interleave with another caller's.
  private read(key: string): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.clock.now().getTime()) {
      this.entries.delete(key);
      return null;
    }
    return entry.value;
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    if (options.onlyIfAbsent && this.read(key) !== null) return false;
    const expiresAt = options.ttlMs && options.ttlMs > 0 ? this.clock.now().getTime() + options.ttlMs : null;
    this.entries.set(key, { value, expiresAt });
    return true;
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const current = this.read(key);
    const next = (current === null ? 0 : Number(current)) + 1;
    const expiresAt = current === null ? this.clock.now().getTime() + ttlMs : this.entries.get(key)!.expiresAt;
    this.entries.set(key, { value: String(next), expiresAt });
    return next;
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }

  private readonly maps = new Map<string, Map<string, string>>();

  async mapSet(key: string, field: string, value: string): Promise<void> {
    const m = this.maps.get(key) ?? new Map<string, string>();
    m.set(field, value);
    this.maps.set(key, m);
  }

  async mapDelete(key: string, field: string): Promise<void> {
    this.maps.get(key)?.delete(field);
  }

  async mapGetAll(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.maps.get(key) ?? []);
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> { this.entries.clear(); this.maps.clear(); }
}
