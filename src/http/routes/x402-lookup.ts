import { Router } from 'express';
import { z } from 'zod';
import { agentDecider, agentStreamId, normaliseWallet } from '../../../domain/agents/agents.ts';
import { findAgent } from '../../../projections/agents.ts';
import { activePortCounts, findSession, sessionByTransaction, sessionsByPayer } from '../../../projections/sessions.ts';
import { handleCommand } from '../../commands/handle.ts';
import type { X402Context } from '../../x402/context.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { publicSessionView } from '../x402-views.ts';

const evmAddress = /^0x[0-9a-fA-F]{40}$/;
const solanaAddress = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
export const wallet = z.string().refine((w) => evmAddress.test(w) || solanaAddress.test(w), 'must be an EVM (0x…) or Solana address');
export const txId = z.string().regex(/^(0x[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{64,90})$/, 'must be a Base transaction hash or a Solana signature');
export const walletQuery = z.object({ status: z.enum(['active', 'expired', 'all']).default('all') });
export const agentBody = z.strictObject({
  wallet,
  network: z.enum(['base', 'solana']).optional(),
  name: z.string().trim().min(1).max(100).optional(),
  description: z.string().trim().max(500).optional(),
  preferences: z.strictObject({ country: z.string().regex(/^[A-Za-z]{2}$/).optional(), tier: z.enum(['shared', 'private']).optional() }).optional(),
});

/** Public lookups (no token: never a password, token or username) and the agent registry. */
export function x402LookupRouter(ctx: X402Context): Router {
  const { infra } = ctx;
  const router = Router();

  router.get('/session/tx/:txHash', async (req, res) => {
    const tx = parse(txId, req.params.txHash);
    const session = await sessionByTransaction(infra.database.db, tx);
    if (!session) throw new ApiError(404, 'SESSION_NOT_FOUND', 'no session was bought or topped up with this transaction');
    res.json(publicSessionView(session, infra.clock.now()));
  });

  router.get('/session/:id', async (req, res) => {
    const id = parse(z.string().uuid('is not a session id'), req.params.id);
    const session = await findSession(infra.database.db, id);
    if (!session) throw new ApiError(404, 'SESSION_NOT_FOUND', `no session ${id}`);
    res.json(publicSessionView(session, infra.clock.now()));
  });

  router.get('/sessions/wallet/:wallet', async (req, res) => {
    const w = parse(wallet, req.params.wallet);
    const { status } = parse(walletQuery, req.query);
    const views = (await sessionsByPayer(infra.database.db, w)).map((s) => publicSessionView(s, infra.clock.now()));
    const chosen = status === 'all' ? views : views.filter((v) => v.status === status);
    // portCount and total: what the official MCP server's get_sessions_by_wallet prints
    const ports = await activePortCounts(infra.database.db, chosen.map((v) => v.sessionId)); // one query, not one per session
    const sessions = chosen.map((v) => ({ ...v, portCount: ports.get(v.sessionId) ?? 0 }));
    res.json({ wallet: w, count: sessions.length, total: sessions.length, sessions });
  });

  router.post('/agents', async (req, res) => {
    const body = parse(agentBody, req.body);
    const network = body.network ?? (evmAddress.test(body.wallet) ? 'base' : 'solana');
    if ((network === 'base') !== evmAddress.test(body.wallet)) throw new ApiError(400, 'VALIDATION_ERROR', `wallet is not a ${network} address`);
    const handled = await handleCommand(infra, agentDecider, agentStreamId(body.wallet), {
      type: 'RegisterAgent',
      data: { wallet: body.wallet, network, name: body.name ?? null, description: body.description ?? null, preferences: { country: body.preferences?.country?.toUpperCase() ?? null, tier: body.preferences?.tier ?? null } },
    }, { actor: `agent:${normaliseWallet(body.wallet)}`, correlationId: req.id });
    if (handled.position > 0n) await infra.projector.waitFor(handled.position, ['agents'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
    res.status(handled.events.some((e) => e.type === 'AgentRegistered') ? 201 : 200).json(await agentView(normaliseWallet(body.wallet)));
  });

  router.get('/agents/:wallet', async (req, res) => {
    const w = normaliseWallet(parse(wallet, req.params.wallet));
    const view = await agentView(w);
    if (!view) throw new ApiError(404, 'AGENT_NOT_FOUND', `no agent registered with wallet ${w}`);
    res.json(view);
  });

  async function agentView(w: string) {
    const a = await findAgent(infra.database.db, w);
    if (!a) return null;
    const sessions = await sessionsByPayer(infra.database.db, w);
    return {
      wallet: a.wallet, network: a.network, name: a.name, description: a.description,
      preferences: { country: a.preferred_country, tier: a.preferred_tier },
      registeredAt: new Date(a.registered_at as string).toISOString(), updatedAt: new Date(a.updated_at as string).toISOString(),
      sessions: sessions.length,
    };
  }

  return router;
}
