import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisKeyValue } from '../../adapters/cache/redis.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { ApiError } from './errors.ts';

const WINDOW_SECONDS = 60;
const BLOCK_SECONDS = 5 * 60;

/**
 * Failed admin authentication, limited per client address: after ADMIN_AUTH_MAX_FAILURES wrong keys in a
 * minute the address is blocked for 5 minutes, whatever key it sends (else a 429 vs 200 would still tell
 * a guess right from wrong). Shared by every API instance through Redis when REDIS_URL is set; an
 * unreachable Redis falls back to counting in-process.
 */
export class AdminAuthGuard {
  private readonly limiter: RateLimiterAbstract;

  constructor(readonly maxFailures: number, redis: unknown | null) {
    const memory = new RateLimiterMemory({ keyPrefix: 'admin-auth', points: maxFailures, duration: WINDOW_SECONDS, blockDuration: BLOCK_SECONDS });
    this.limiter = redis
      ? new RateLimiterRedis({ storeClient: redis, keyPrefix: 'pmx:admin-auth', points: maxFailures, duration: WINDOW_SECONDS, blockDuration: BLOCK_SECONDS, insuranceLimiter: memory })
      : memory;
  }

  /** Seconds the address must still wait, 0 when it may try. */
  async blockedSeconds(address: string): Promise<number> {
    const r = await this.limiter.get(address);
    return r && r.consumedPoints > this.maxFailures ? Math.max(1, Math.ceil(r.msBeforeNext / 1000)) : 0;
  }

  /** Counts a failure; the one that reaches the limit blocks the address for 5 minutes. */
  async failed(address: string): Promise<void> {
    const r = await this.limiter.consume(address).catch((res: unknown) => {
      if (res instanceof RateLimiterRes) return res; // already over the limit
      throw res; // a store error
    });
    if (r.consumedPoints === this.maxFailures) await this.limiter.block(address, BLOCK_SECONDS);
  }
}

const guards = new WeakMap<Infrastructure, AdminAuthGuard>();

/** One guard per running service (so every admin route counts the same failures). */
export function adminAuthGuard(infra: Infrastructure): AdminAuthGuard {
  let guard = guards.get(infra);
  if (!guard) {
    // by kind, not instanceof: the Redis adapter is loaded with a dynamic import and may be another module instance
    const redis = infra.kv.kind === 'redis' ? (infra.kv as RedisKeyValue).client : null;
    guard = new AdminAuthGuard(infra.config.ADMIN_AUTH_MAX_FAILURES, redis);
    guards.set(infra, guard);
  }
  return guard;
}

const fallbackGuard = new AdminAuthGuard(10, null);

/** X-Admin-Key, compared in constant time, with failures limited per client address. */
export function requireAdminKey(configured: string | undefined, guard: AdminAuthGuard = fallbackGuard): RequestHandler {
  const expected = configured ? createHash('sha256').update(configured).digest() : null;
  return (req, _res, next) => {
    const given = req.header('x-admin-key');
    if (!expected) return next(new ApiError(401, 'ADMIN_DISABLED', 'the admin API is disabled: set ADMIN_API_KEY on the server'));
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    guard.blockedSeconds(address).then(async (wait) => {
      if (wait > 0) {
        return next(new ApiError(429, 'ADMIN_RATE_LIMITED', `too many failed admin authentications from this address; try again in ${wait} s`, { retryAfterSeconds: wait }));
      }
      if (!given) return next(new ApiError(401, 'ADMIN_KEY_REQUIRED', 'send the admin key in the X-Admin-Key header'));
      if (timingSafeEqual(createHash('sha256').update(given).digest(), expected)) return next();
      await guard.failed(address);
      next(new ApiError(401, 'ADMIN_KEY_INVALID', 'the X-Admin-Key is not valid'));
    }).catch(next);
  };
}
