import { Router } from 'express';
import { z } from 'zod';
import { SCOPES } from '../../../domain/accounts/events.ts';
import { listApiKeys } from '../../../projections/account-api-keys.ts';
import { createApiKey, revokeApiKey } from '../../accounts/auth.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { apiKeyView } from '../account-views.ts';

export const createKeyBody = z.strictObject({
  label: z.string().trim().min(1).max(100).default('API key'),
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length).default([...SCOPES]),
});
const keyId = z.string().regex(/^[a-f0-9]{24}$/, 'is not an API key id');

/** GET/POST/DELETE /v1/account/api-keys. A key can mint keys only within its own scopes. */
export function accountApiKeysRouter(ctx: AccountsContext): Router {
  const router = Router();
  router.use('/v1/account/api-keys', authenticate(ctx));

  router.get('/v1/account/api-keys', requireScope('account:read'), async (req, res) => {
    const keys = (await listApiKeys(ctx.infra.database.db, principalOf(req).accountId)).map(apiKeyView);
    res.json({ data: keys, total: keys.length });
  });

  router.post('/v1/account/api-keys', requireScope('account:write'), async (req, res) => {
    const p = principalOf(req);
    const body = parse(createKeyBody, req.body ?? {});
    const beyond = body.scopes.filter((s) => !p.scopes.has(s));
    if (beyond.length) throw new ApiError(403, 'INSUFFICIENT_SCOPE', `a key cannot grant scopes it does not hold: ${beyond.join(', ')}`, { requiredScope: beyond[0], grantedScopes: [...p.scopes] });
    const created = await createApiKey(ctx, p.accountId, body, { actor: `account:${p.accountId}`, correlationId: req.id });
    res.status(201).json({ _id: created.keyId, id: created.keyId, key: created.key, label: created.label, scopes: created.scopes, prefix: created.keyPrefix, isActive: true, createdAt: created.createdAt, note: 'the key is shown once' });
  });

  router.delete('/v1/account/api-keys/:id', requireScope('account:write'), async (req, res) => {
    const p = principalOf(req);
    await revokeApiKey(ctx, p.accountId, parse(keyId, req.params.id), { actor: `account:${p.accountId}`, correlationId: req.id });
    res.json({ message: 'API key revoked', id: req.params.id });
  });

  return router;
}
