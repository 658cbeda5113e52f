import { Router } from 'express';
import { z } from 'zod';
import { findAccount } from '../../../projections/accounts.ts';
import { LoginGuard, registerAccount, signIn } from '../../accounts/auth.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import { parse } from '../validate.ts';
import { userView } from '../account-views.ts';

export const emailField = z.string().trim().max(254).pipe(z.email({ message: 'must be an e-mail address' }));
export const passwordField = z.string().min(8, 'must be at least 8 characters').max(256);
export const registerBody = z.strictObject({ email: emailField, password: passwordField });
export const signinBody = z.object({ email: z.string().max(254), password: z.string().max(256) });

/** Self-service sign-up and sign-in (the MCP server's email/password mode signs in here). */
export function accountAuthRouter(ctx: AccountsContext, guard: LoginGuard): Router {
  const router = Router();

  router.post('/v1/auth/register', async (req, res) => {
    const body = parse(registerBody, req.body);
    const { accountId, apiKey } = await registerAccount(ctx, { email: body.email, password: body.password, via: 'self', firstKey: true }, { actor: 'self', correlationId: req.id });
    const account = await findAccount(ctx.infra.database.db, accountId);
    res.status(201).json({
      user: account ? userView(account) : { _id: accountId, id: accountId, email: body.email.toLowerCase(), role: 'customer', isActive: true },
      apiKey: apiKey && { _id: apiKey.keyId, id: apiKey.keyId, key: apiKey.key, label: apiKey.label, scopes: apiKey.scopes, prefix: apiKey.keyPrefix, createdAt: apiKey.createdAt },
      note: 'the API key is shown once; keep it. Sign in with POST /v1/login/signin for a bearer token.',
    });
  });

  router.post('/v1/login/signin', async (req, res) => {
    const body = parse(signinBody, req.body);
    res.json(await signIn(ctx, guard, { email: body.email, password: body.password, address: req.ip ?? 'unknown' }));
  });

  return router;
}
