import { Redis } from 'ioredis';
import type { KeyValue } from './port.ts';

export class RedisKeyValue implements KeyValue {
  readonly kind = 'redis' as const;
  private constructor(private readonly redis: Redis, private readonly prefix: string) {}

  /** The connection, for stores that take an ioredis client (rate-limiter-flexible). */
  get client(): Redis {
    return this.redis;
  }

  static async connect(url: string, prefix = 'pmx:'): Promise<RedisKeyValue> {
    // Fail fast at start-up rather than queueing commands against a Redis that is not there.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: false });
    redis.on('error', () => {}); // reconnects on its own; ping() reports the state
    await redis.connect();
    return new RedisKeyValue(redis, prefix);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.prefix + key);
  }

  async set(key: string, value: string, options: { ttlMs?: number; onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    const k = this.prefix + key;
    const ttl = options.ttlMs && options.ttlMs > 0 ? Math.ceil(options.ttlMs) : null;
    let reply: string | null;
    if (ttl && options.onlyIfAbsent) reply = await this.redis.set(k, value, 'PX', ttl, 'NX');
    else if (ttl) reply = await this.redis.set(k, value, 'PX', ttl);
    else if (options.onlyIfAbsent) reply = await this.redis.set(k, value, 'NX');
    else reply = await this.redis.set(k, value);
    return reply === 'OK';
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const k = this.prefix + key;
    const [[, count]] = (await this.redis.multi().incr(k).pexpire(k, Math.ceil(ttlMs), 'NX').exec()) as [[null, number]];
    return count;
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async mapSet(key: string, field: string, value: string): Promise<void> {
    await this.redis.hset(this.prefix + key, field, value);
  }

  async mapDelete(key: string, field: string): Promise<void> {
    await this.redis.hdel(this.prefix + key, field);
  }

  async mapGetAll(key: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.prefix + key);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
