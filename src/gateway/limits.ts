import type { Redis } from 'ioredis';
import type { GatewayCoordination } from './coordination.ts';

/**
 * Per-account limits counted across every gateway instance (#8 item 4): concurrent connections
 * (100) and sticky sessions (50). With Redis each instance announces its own live count per
 * account in a hash (field = instance id) and keeps an `alive` key with a short TTL by heartbeat;
 * counts of an instance whose alive key ran out (it crashed) are not counted and are removed, so a
 * crashed instance's connections are released within `instanceLeaseMs`. Sessions are a sorted set
 * of sid → expiry. Without Redis (or while degraded) the counts are this instance's own.
 */

// Sum of live instances' counts (this instance's new count included); set ours if within the limit.
const CONNECT_SCRIPT = `
local fields = redis.call('HGETALL', KEYS[1])
local others = 0
for i = 1, #fields, 2 do
  local instance = fields[i]
  if instance ~= ARGV[1] then
    if redis.call('EXISTS', ARGV[4] .. instance) == 1 then others = others + tonumber(fields[i + 1])
    else redis.call('HDEL', KEYS[1], instance) end
  end
end
local mine = tonumber(ARGV[2])
if others + mine > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], mine)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

// Expired sids go first; a known sid is renewed; a new one needs room.
const SID_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local known = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not known and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(last[2])))
return 1`;

export interface LimitOptions {
  instanceId: string;
  maxConnections: number;
  maxSessions: number;
  /** A crashed instance's connections stop counting after this long (its alive key's TTL). */
  instanceLeaseMs: number;
  now: () => number;
}

export class AccountLimits {
  /** account key → live connections on this instance (acquired, not yet released). */
  private readonly connections = new Map<string, number>();
  private readonly sids = new Map<string, Map<string, number>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly prefix = 'pmx:gw:';

  constructor(private readonly coordination: GatewayCoordination, private readonly options: LimitOptions) {
    coordination.onRecovered(() => void this.beat());
  }

  private get redis(): Redis | null {
    return this.coordination.redis;
  }

  /** Heartbeat: keeps this instance alive and re-announces every count (heals counts missed while degraded). */
  start(): void {
    void this.beat();
    this.heartbeat = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.options.instanceLeaseMs / 3)));
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    const redis = this.redis;
    if (!redis || !this.coordination.shared) return;
    await redis.del(this.aliveKey(this.options.instanceId)).catch(() => {});
  }

  /** Counts one more connection for the account unless that passes the limit (across instances). */
  async acquireConnection(accountKey: string): Promise<boolean> {
    const mine = (this.connections.get(accountKey) ?? 0) + 1;
    this.connections.set(accountKey, mine);
    const ok = await this.coordination.run(
      async () => (await this.redis!.eval(CONNECT_SCRIPT, 1, this.connKey(accountKey), this.options.instanceId, String(mine),
        String(this.options.maxConnections), this.prefix + 'alive:', String(this.options.instanceLeaseMs * 2))) === 1,
      () => mine <= this.options.maxConnections,
    );
    if (!ok) this.decrement(accountKey);
    return ok;
  }

  async releaseConnection(accountKey: string): Promise<void> {
    const mine = this.decrement(accountKey);
    await this.coordination.run(async () => { await this.redis!.hset(this.connKey(accountKey), this.options.instanceId, String(mine)); }, () => {});
  }

  /** A new sid takes one of the account's sessions until its TTL runs out; a known one is renewed. */
  async reserveSid(accountKey: string, sid: string, ttlMs: number): Promise<boolean> {
    const now = this.options.now();
    return this.coordination.run(
      async () => (await this.redis!.eval(SID_SCRIPT, 1, this.prefix + `sids:${accountKey}`, String(now), sid, String(now + ttlMs), String(this.options.maxSessions))) === 1,
      () => this.reserveLocal(accountKey, sid, now, ttlMs),
    );
  }

  /** This instance's own view (tests, health). */
  localConnections(accountKey: string): number {
    return this.connections.get(accountKey) ?? 0;
  }

  private reserveLocal(accountKey: string, sid: string, now: number, ttlMs: number): boolean {
    const sids = this.sids.get(accountKey) ?? new Map<string, number>();
    for (const [s, expires] of sids) if (expires <= now) sids.delete(s);
    if (!sids.has(sid) && sids.size >= this.options.maxSessions) return false;
    sids.set(sid, now + ttlMs);
    this.sids.set(accountKey, sids);
    return true;
  }

  private decrement(accountKey: string): number {
    const left = Math.max(0, (this.connections.get(accountKey) ?? 0) - 1);
    if (left === 0) this.connections.delete(accountKey);
    else this.connections.set(accountKey, left);
    return left;
  }

  private async beat(): Promise<void> {
    const redis = this.redis;
    if (!redis || !this.coordination.shared) return;
    const batch = redis.multi().set(this.aliveKey(this.options.instanceId), '1', 'PX', this.options.instanceLeaseMs);
    for (const [key, n] of this.connections) batch.hset(this.connKey(key), this.options.instanceId, String(n)).pexpire(this.connKey(key), this.options.instanceLeaseMs * 2);
    await this.coordination.run(async () => { await batch.exec(); }, () => {});
  }

  private connKey(accountKey: string): string {
    return `${this.prefix}conns:${accountKey}`;
  }

  private aliveKey(instanceId: string): string {
    return `${this.prefix}alive:${instanceId}`;
  }
}
