import { Router, type Request } from 'express';
import { z } from 'zod';
import type { AuditContext } from '../../../domain/reseller/events.ts';
import { IDEMPOTENCY_KEY_PATTERN } from '../../../domain/reseller/idempotency.ts';
import { AUDIT_ACTIONS, listAudit } from '../../../projections/pool-key-audit.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import {
  createPoolKey, deletePoolKey, ownedPoolKey, regeneratePoolKey, resellerPoolKeys, revealPoolKey, topUpPoolKey, updatePoolKey, type ResellerCaller,
} from '../../reseller/keys.ts';
import { authenticate, principalOf, requireRole } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { auditView, poolKeyView } from '../reseller-views.ts';
import { parse } from '../validate.ts';

const capGB = z.number().nullable();
const expiresAt = z.string().nullable();
export const createPoolKeyBody = z.strictObject({
  label: z.string().trim().min(1).max(200),
  trafficCapGB: capGB.optional(),
  qualityTier: z.enum(['safe', 'standard']).default('standard'),
  expiresAt: expiresAt.optional(),
});
export const updatePoolKeyBody = z.strictObject({
  label: z.string().trim().min(1).max(200).optional(),
  enabled: z.boolean().optional(),
  trafficCapGB: capGB.optional(),
  qualityTier: z.enum(['safe', 'standard']).optional(),
  expiresAt: expiresAt.optional(),
});
export const topUpPoolKeyBody = z.strictObject({
  addTrafficGB: z.number().positive().optional(),
  extendDays: z.number().positive().optional(),
}).refine((b) => b.addTrafficGB !== undefined || b.extendDays !== undefined, { message: 'send addTrafficGB, extendDays or both' });
const keyIdParam = z.string().regex(/^[0-9a-f]{24}$/, 'is not a pool access key id');
const auditLimit = (max: number) => z.coerce.number().int().min(1, 'limit must be at least 1').transform((n) => Math.min(n, max)).optional();
export const auditQuery = z.object({
  action: z.enum(AUDIT_ACTIONS as [string, ...string[]]).optional(),
  before: z.string().refine((v) => Number.isFinite(Date.parse(v)), 'must be an ISO 8601 date-time').optional(),
  limit: auditLimit(500),
});
export const keyAuditQuery = z.object({ before: auditQuery.shape.before, limit: auditLimit(200) });

/** The reseller making the call and the audit context of the request. */
export function callerOf(req: Request): ResellerCaller {
  const p = principalOf(req);
  const audit: AuditContext = { ip: req.ip ?? null, userAgent: req.header('user-agent') ?? null, requestId: req.id, authMethod: p.via === 'api_key' ? 'apiKey' : 'jwt' };
  return { accountId: p.accountId, partner: p.role === 'admin', audit };
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw new ApiError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 8 to 128 characters of A-Z, a-z, 0-9, _ and -');
  return key;
}

/** /v1/reseller/pool-keys: a reseller's pak_ keys (the reseller role; another reseller's key is 404). */
export function resellerPoolKeysRouter(ctx: AccountsContext): Router {
  const { infra } = ctx;
  const sealer = infra.secrets;
  const view = (row: Parameters<typeof poolKeyView>[0]) => poolKeyView(row, sealer, infra.clock.now());
  const router = Router();
  router.use('/v1/reseller', authenticate(ctx), requireRole('reseller'), async (req, res, next) => {
    // a fixed window per reseller; the SDK retries a 429 after the Retry-After it is given
    const { RESELLER_RATE_LIMIT: limit, RESELLER_RATE_LIMIT_WINDOW_MS: windowMs } = infra.config;
    const now = infra.clock.now().getTime();
    const window = Math.floor(now / windowMs);
    try {
      const count = await infra.kv.increment(`rl:reseller:${principalOf(req).accountId}:${window}`, windowMs);
      if (count <= limit) return next();
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
      res.setHeader('Retry-After', String(retryAfter));
      next(new ApiError(429, 'RATE_LIMITED', `over ${limit} requests per ${windowMs / 1000} s; retry in ${retryAfter} s`, { retryAfterSeconds: retryAfter }));
    } catch (error) {
      next(error);
    }
  });

  router.post('/v1/reseller/pool-keys', async (req, res) => {
    const body = parse(createPoolKeyBody, req.body ?? {});
    const row = await createPoolKey(infra, callerOf(req), {
      label: body.label, trafficCapGB: body.trafficCapGB ?? null, qualityTier: body.qualityTier, expiresAt: body.expiresAt ?? null,
    }, idempotencyKey(req), req.body);
    res.status(201).json(view(row));
  });

  router.get('/v1/reseller/pool-keys', async (req, res) => {
    res.json((await resellerPoolKeys(infra, callerOf(req))).map(view));
  });

  router.get('/v1/reseller/pool-keys/audit', async (req, res) => {
    const q = parse(auditQuery, req.query);
    const rows = await listAudit(infra.database.db, { resellerId: callerOf(req).accountId, action: q.action as never, before: q.before ? new Date(q.before) : undefined, limit: q.limit ?? 100, now: infra.clock.now() });
    res.json(rows.map((r) => auditView(r, true)));
  });

  router.get('/v1/reseller/pool-keys/:id', async (req, res) => {
    res.json(view(await ownedPoolKey(infra, callerOf(req), parse(keyIdParam, req.params.id))));
  });

  router.patch('/v1/reseller/pool-keys/:id', async (req, res) => {
    const id = parse(keyIdParam, req.params.id);
    const body = parse(updatePoolKeyBody, req.body ?? {});
    res.json(view(await updatePoolKey(infra, callerOf(req), id, body)));
  });

  router.delete('/v1/reseller/pool-keys/:id', async (req, res) => {
    const id = parse(keyIdParam, req.params.id);
    await deletePoolKey(infra, callerOf(req), id);
    res.json({ message: 'pool access key deleted; its tunnels were closed', id });
  });

  router.post('/v1/reseller/pool-keys/:id/topup', async (req, res) => {
    const id = parse(keyIdParam, req.params.id);
    const body = parse(topUpPoolKeyBody, req.body ?? {});
    res.json(view(await topUpPoolKey(infra, callerOf(req), id, { addTrafficGB: body.addTrafficGB ?? null, extendDays: body.extendDays ?? null }, idempotencyKey(req), req.body)));
  });

  router.post('/v1/reseller/pool-keys/:id/regenerate', async (req, res) => {
    const id = parse(keyIdParam, req.params.id);
    res.json(view(await regeneratePoolKey(infra, callerOf(req), id, idempotencyKey(req))));
  });

  router.post('/v1/reseller/pool-keys/:id/reveal', async (req, res) => {
    res.json(view(await revealPoolKey(infra, callerOf(req), parse(keyIdParam, req.params.id))));
  });

  router.get('/v1/reseller/pool-keys/:id/audit', async (req, res) => {
    const caller = callerOf(req);
    const id = parse(keyIdParam, req.params.id);
    const q = parse(keyAuditQuery, req.query);
    const rows = await listAudit(infra.database.db, { resellerId: caller.accountId, pakId: id, before: q.before ? new Date(q.before) : undefined, limit: q.limit ?? 100, now: infra.clock.now() });
    // a deleted key keeps its audit trail; a key that never was this reseller's is 404
    if (rows.length === 0) await ownedPoolKey(infra, caller, id);
    res.json(rows.map((r) => auditView(r, false)));
  });

  return router;
}
