import { Router, type Request } from 'express';
import { z } from 'zod';
import { findPayout, payoutsByStatus } from '../../../projections/peer-payouts.ts';
import type { Infrastructure } from '../../infrastructure.ts';
import { peerCommand } from '../../peers/agents.ts';
import { peerContext } from '../../peers/context.ts';
import { adminAuthGuard, requireAdminKey } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';
import { errors } from '../openapi/common.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { parse } from '../validate.ts';
import { payoutExample, payoutSchema, payoutView } from './peer-agents.ts';

/**
 * The payout approval queue (PEER_PAYOUT_APPROVAL=manual): withdrawals wait as `requested` until an
 * operator approves them (the worker then sends them) or rejects them (the money goes back on the
 * peer's balance). Behind X-Admin-Key.
 */
const listQuery = z.strictObject({
  status: z.enum(['requested', 'approved', 'sent', 'failed', 'rejected']).default('requested'),
  limit: z.string().regex(/^\d{1,3}$/, 'must be a whole number from 1 to 500').transform(Number).pipe(z.number().int().min(1, 'must be 1 to 500').max(500, 'must be 1 to 500')).optional(),
});
const payoutParams = z.strictObject({ payoutId: z.string().regex(/^[0-9a-f-]{36}$/, 'is not a payout id') });
const rejectBody = z.strictObject({ reason: z.string().trim().min(1).max(300) });

const tag = 'Peers (admin)';
const security = ['adminKey' as const];
documentRoutes(
  { method: 'get', path: '/v1/admin/peer/payouts', tag, security, summary: 'Peer payouts by status, oldest first (default: requested, the approval queue)', query: listQuery,
    responses: { 200: { description: 'Payouts', schema: z.object({ payouts: z.array(payoutSchema.extend({ deviceId: z.string() })) }), example: { payouts: [{ ...payoutExample, status: 'requested', deviceId: 'peer-device-id' }] } }, ...errors({ 400: 'VALIDATION_ERROR', 401: 'ADMIN_KEY_INVALID' }) } },
  { method: 'post', path: '/v1/admin/peer/payouts/:payoutId/approve', tag, security, summary: 'Approve a requested payout: the payout worker sends it', params: payoutParams,
    responses: { 200: { description: 'Approved (idempotent)', schema: payoutSchema, example: payoutExample }, ...errors({ 400: 'VALIDATION_ERROR', 401: 'ADMIN_KEY_INVALID', 404: 'PAYOUT_NOT_FOUND', 409: 'PAYOUT_NOT_PENDING' }) } },
  { method: 'post', path: '/v1/admin/peer/payouts/:payoutId/reject', tag, security, summary: 'Reject a requested payout: the amount goes back on the peer balance', params: payoutParams, body: rejectBody,
    bodyExample: { reason: 'wallet flagged' },
    responses: { 200: { description: 'Rejected (idempotent)', schema: payoutSchema, example: { ...payoutExample, status: 'rejected', reason: 'rejected by admin: wallet flagged' } }, ...errors({ 400: 'VALIDATION_ERROR', 401: 'ADMIN_KEY_INVALID', 404: 'PAYOUT_NOT_FOUND', 409: 'PAYOUT_NOT_PENDING' }) } },
);

export function peerAdminRouter(infra: Infrastructure): Router {
  const ctx = peerContext(infra);
  const router = Router();
  router.use(requireAdminKey(infra.config.ADMIN_API_KEY, adminAuthGuard(infra)));
  const load = async (payoutId: string) => {
    const row = await findPayout(infra.database.db, payoutId);
    if (!row) throw new ApiError(404, 'PAYOUT_NOT_FOUND', `no payout ${payoutId}`);
    return row;
  };
  const decide = async (req: Request, command: (payoutId: string) => Parameters<typeof peerCommand>[2]) => {
    const { payoutId } = parse(payoutParams, req.params);
    const row = await load(payoutId);
    const handled = await peerCommand(ctx, row.device_id, command(payoutId), { actor: 'admin', correlationId: req.id });
    if (handled.position > 0n) await infra.projector.waitFor(handled.position, ['peer-payouts', 'peers'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
    return payoutView(await load(payoutId));
  };

  router.get('/payouts', async (req, res) => {
    const q = parse(listQuery, req.query);
    await infra.projector.waitFor(await infra.store.headPosition(), ['peer-payouts'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
    const rows = await payoutsByStatus(infra.database.db, q.status, q.limit ?? 100);
    res.json({ payouts: rows.map((r) => ({ ...payoutView(r), deviceId: r.device_id })) });
  });
  router.post('/payouts/:payoutId/approve', async (req, res) => {
    res.json(await decide(req, (payoutId) => ({ type: 'ApprovePayout', data: { payoutId, approvedBy: 'admin' } })));
  });
  router.post('/payouts/:payoutId/reject', async (req, res) => {
    const { reason } = parse(rejectBody, req.body ?? {});
    res.json(await decide(req, (payoutId) => ({ type: 'RejectPayout', data: { payoutId, rejectedBy: 'admin', reason } })));
  });
  return router;
}
