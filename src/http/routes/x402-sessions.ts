import { Router } from 'express';
import { z } from 'zod';
import { paymentResponseHeader } from '../../../adapters/payments/headers.ts';
import { formatGb } from '../../../domain/pricing/pricing.ts';
import { findSession } from '../../../projections/sessions.ts';
import type { X402Context } from '../../x402/context.ts';
import { topUp } from '../../x402/manage.ts';
import { ApiError } from '../errors.ts';
import { errors } from '../openapi/common.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { agentSessionBody, agentSessionExample, paymentBody, paymentExample, paymentRequiredBody, paymentRequiredExample } from '../openapi/x402-schemas.ts';
import { parse } from '../validate.ts';
import { agentSessionFromRow } from '../x402-agent-views.ts';
import { paymentView } from '../x402-views.ts';
import { paymentHeader, paymentRequired } from './x402-purchase.ts';
import { limitPerSession } from './x402-session-auth.ts';

/**
 * The session routes existing x402 agent clients call by session id (the official MCP server's
 * getSessionStatus and extendSession): no token, no secrets in the answer; extending is paying.
 */

const idParams = z.object({ id: z.string().uuid('is not a session id') });
export const extendQuery = z.object({
  hours: z.coerce.number().int().min(1).max(720).default(1),
  traffic: z.string().regex(/^\d+(\.\d+)?$/, 'must be a number of GB').optional()
    .meta({ description: 'GB to add (paid); default the minimum purchase, so an extension always has a price' }),
});
const extendedBody = agentSessionBody.extend({
  success: z.literal(true), addedHours: z.number().int(), addedTrafficGB: z.string(), session: agentSessionBody, payment: paymentBody.nullable(),
});
const tag = 'x402 sessions';
documentRoutes(
  { method: 'get', path: '/v1/x402/sessions/:id/status', tag, summary: 'Session status by id, in the agent clients\' shape (no secrets)', params: idParams,
    responses: { 200: { description: 'Status', schema: agentSessionBody, example: agentSessionExample }, ...errors({ 400: 'VALIDATION_ERROR', 404: 'SESSION_NOT_FOUND' }) } },
  { method: 'post', path: '/v1/x402/sessions/:id/extend', tag, security: ['payment'], params: idParams, query: extendQuery,
    summary: 'Extend a session by N hours (free) with the minimum traffic or `traffic` GB (paid): 402 first, then pay',
    responses: {
      200: { description: 'Extended', schema: extendedBody, example: { ...agentSessionExample, success: true, addedHours: 1, addedTrafficGB: '0.1', session: agentSessionExample, payment: { ...paymentExample, amount: '0.40', amountMicro: '400000', amountPaid: '0.40' } } },
      402: { description: 'Payment required', schema: paymentRequiredBody, example: paymentRequiredExample },
      ...errors({ 400: ['VALIDATION_ERROR', 'PAYMENT_MALFORMED'], 404: 'SESSION_NOT_FOUND', 409: ['SESSION_EXPIRED', 'PAYMENT_ALREADY_USED'], 429: 'RATE_LIMITED' }),
    } },
);

export function x402SessionsRouter(ctx: X402Context): Router {
  const { infra } = ctx;
  const router = Router();
  const load = async (raw: string) => {
    const { id } = parse(idParams, { id: raw });
    const session = await findSession(infra.database.db, id);
    if (!session) throw new ApiError(404, 'SESSION_NOT_FOUND', `no session ${id}`);
    return session;
  };

  router.get('/sessions/:id/status', async (req, res) => {
    res.json(agentSessionFromRow(await load(req.params.id), infra.clock.now()));
  });

  router.post('/sessions/:id/extend', async (req, res) => {
    const session = await load(req.params.id);
    const q = parse(extendQuery, req.query);
    const addTrafficGB = q.traffic ?? formatGb(ctx.prices.minTrafficBytes);
    const header = paymentHeader(req);
    if (header) await limitPerSession(infra, session, 'extend');
    const result = await topUp(ctx, session, { addTrafficGB, addDurationSeconds: q.hours * 3600 }, header, { actor: 'session-extend', correlationId: req.id });
    if (result.kind === 'payment_required') {
      return paymentRequired(ctx, req, res, result.quote.costMicro, `Extend session ${session.session_id} by ${q.hours} h with ${formatGb(result.quote.addTrafficBytes)} GB`, {
        extension: { hours: q.hours, addTrafficGB: formatGb(result.quote.addTrafficBytes), newExpiresAt: result.quote.newExpiresAt },
      });
    }
    if (result.collected) res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(result.collected));
    const view = agentSessionFromRow((await findSession(infra.database.db, session.session_id))!, infra.clock.now());
    res.json({ ...view, success: true, addedHours: q.hours, addedTrafficGB: formatGb(result.quote.addTrafficBytes), session: view, payment: result.payment ? paymentView(result.payment) : null });
  });

  return router;
}
