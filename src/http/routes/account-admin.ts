import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../../../domain/accounts/events.ts';
import { findAccount, ledgerOf } from '../../../projections/accounts.ts';
import { registerAccount } from '../../accounts/auth.ts';
import { runAccountCommand, type AccountsContext } from '../../accounts/context.ts';
import { principalOf, requireAdmin } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { iso, usd, usdAmount, userView, walletView } from '../account-views.ts';
import { emailField, passwordField } from './account-auth.ts';

export const adminCreateBody = z.strictObject({ email: emailField, password: passwordField.optional(), role: z.enum(ROLES).optional() });
export const adminPatchBody = z.strictObject({ role: z.enum(ROLES).optional(), isActive: z.boolean().optional() })
  .refine((b) => b.role !== undefined || b.isActive !== undefined, 'send role and/or isActive');
export const adminCreditBody = z.strictObject({ amount: usdAmount, reason: z.string().trim().min(1).max(500) });
const accountId = z.string().regex(/^[a-f0-9]{24}$/, 'is not an account id');

/** Operators' account management: X-Admin-Key or an admin account. */
export function accountAdminRouter(ctx: AccountsContext): Router {
  const router = Router();
  router.use('/v1/admin/accounts', requireAdmin(ctx));
  const actor = (req: import('express').Request) => (req.principal ? `admin:${principalOf(req).accountId}` : 'admin');

  const view = async (id: string) => {
    const account = await findAccount(ctx.infra.database.db, id);
    if (!account) throw new ApiError(404, 'ACCOUNT_NOT_FOUND', `no account ${id}`);
    const credits = await ledgerOf(ctx.infra.database.db, id, { limit: 20, offset: 0, kind: ['credit'] });
    return {
      user: userView(account),
      wallet: walletView(account),
      credits: credits.rows.map((c) => ({ amount: usd(BigInt(c.amount_micro)), amountMicro: String(c.amount_micro), reason: c.details.reason, grantedBy: c.details.grantedBy, createdAt: iso(c.at) })),
    };
  };

  router.post('/v1/admin/accounts', async (req, res) => {
    const body = parse(adminCreateBody, req.body);
    const created = await registerAccount(ctx, { email: body.email, password: body.password ?? null, role: body.role, via: 'admin', firstKey: true }, { actor: actor(req), correlationId: req.id });
    const k = created.apiKey!;
    res.status(201).json({ ...(await view(created.accountId)), apiKey: { _id: k.keyId, id: k.keyId, key: k.key, label: k.label, scopes: k.scopes, prefix: k.keyPrefix, createdAt: k.createdAt } });
  });

  router.get('/v1/admin/accounts/:id', async (req, res) => {
    res.json(await view(parse(accountId, req.params.id)));
  });

  router.patch('/v1/admin/accounts/:id', async (req, res) => {
    const id = parse(accountId, req.params.id);
    const body = parse(adminPatchBody, req.body);
    const origin = { actor: actor(req), correlationId: req.id };
    if (body.role !== undefined) await runAccountCommand(ctx, id, { type: 'ChangeRole', data: { role: body.role } }, origin);
    if (body.isActive !== undefined) {
      await runAccountCommand(ctx, id, { type: 'SetActive', data: { isActive: body.isActive } }, origin);
      // a gateway in this process cuts the account's live tunnels now; others at their next refresh
      ctx.infra.events.emit('account-changed', id);
    }
    res.json(await view(id));
  });

  router.post('/v1/admin/accounts/:id/credits', async (req, res) => {
    const id = parse(accountId, req.params.id);
    const body = parse(adminCreditBody, req.body);
    await runAccountCommand(ctx, id, { type: 'GrantCredit', data: { amountMicro: body.amount, reason: body.reason, grantedBy: actor(req) } }, { actor: actor(req), correlationId: req.id });
    res.status(201).json(await view(id));
  });

  return router;
}
