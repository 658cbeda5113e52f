import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { SCOPES, type Role, type Scope } from '../../domain/accounts/events.ts';
import { findAccount, type AccountRow } from '../../projections/accounts.ts';
import { findApiKeyByHash, scopesOf } from '../../projections/account-api-keys.ts';
import { verifyAccessToken } from '../accounts/auth.ts';
import type { AccountsContext } from '../accounts/context.ts';
import { API_KEY_RE } from '../accounts/secrets.ts';
import { sha256Hex } from '../x402/secrets.ts';
import { ApiError } from './errors.ts';

/**
 * Who is calling the account API: `X-API-Key: psx_…` (the key's scopes) or `Authorization: Bearer`
 * with a sign-in JWT (every scope: it is the account holder) or with a psx_ key. Role and active flag
 * are read from the accounts read model on every request, so a change applies at once.
 */
export interface AccountPrincipal {
  accountId: string;
  role: Role;
  scopes: ReadonlySet<Scope>;
  via: 'api_key' | 'jwt';
  keyId: string | null;
  account: AccountRow;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: AccountPrincipal;
  }
}

export function principalOf(req: Request): AccountPrincipal {
  if (!req.principal) throw new ApiError(401, 'AUTH_REQUIRED', 'send X-API-Key: psx_… or Authorization: Bearer <token>');
  return req.principal;
}

/** Credentials, if any were sent; null when none (so a router can still serve public routes). */
export async function resolvePrincipal(ctx: AccountsContext, req: Request): Promise<AccountPrincipal | null> {
  const header = req.header('x-api-key');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '')?.[1];
  if (header === undefined && bearer === undefined) return null;
  const db = ctx.infra.database.db;
  const key = header ?? (bearer!.startsWith('psx_') ? bearer! : null);
  let accountId: string;
  let scopes: Scope[];
  let keyId: string | null = null;
  if (key !== null) {
    const row = API_KEY_RE.test(key) ? await findApiKeyByHash(db, sha256Hex(key)) : undefined;
    if (!row || row.revoked_at) throw new ApiError(401, 'INVALID_API_KEY', row ? 'this API key was revoked' : 'the API key is not valid');
    accountId = row.account_id;
    scopes = scopesOf(row);
    keyId = row.key_id;
  } else {
    const sub = await verifyAccessToken(ctx, bearer!);
    if (!sub) throw new ApiError(401, 'INVALID_TOKEN', 'the bearer token is invalid or expired; sign in again');
    accountId = sub;
    scopes = [...SCOPES];
  }
  const account = await findAccount(db, accountId);
  if (!account) throw new ApiError(401, 'INVALID_TOKEN', 'the account of these credentials does not exist');
  if (!account.is_active) throw new ApiError(403, 'ACCOUNT_DISABLED', 'this account is deactivated');
  return { accountId, role: account.role, scopes: new Set(scopes), via: keyId ? 'api_key' : 'jwt', keyId, account };
}

/** Requires account credentials; sets req.principal. */
export function authenticate(ctx: AccountsContext): RequestHandler {
  return async (req, _res, next) => {
    try {
      const principal = await resolvePrincipal(ctx, req);
      if (!principal) throw new ApiError(401, 'AUTH_REQUIRED', 'send X-API-Key: psx_… or Authorization: Bearer <token>');
      req.principal = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** 403 naming the missing scope. Use after authenticate(). */
export function requireScope(scope: Scope): RequestHandler {
  return (req, _res, next) => {
    const p = principalOf(req);
    if (p.scopes.has(scope)) return next();
    next(new ApiError(403, 'INSUFFICIENT_SCOPE', `this API key lacks the scope ${scope}`, { requiredScope: scope, grantedScopes: [...p.scopes] }));
  };
}

/** 403 unless the account has one of the roles (admin passes every role check). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    const p = principalOf(req);
    if (p.role === 'admin' || roles.includes(p.role)) return next();
    next(new ApiError(403, 'ROLE_REQUIRED', `this route is for ${roles.join(' or ')} accounts`, { requiredRoles: roles, role: p.role }));
  };
}

/**
 * Operator routes: the X-Admin-Key (constant-time compare), or the credentials of an admin account.
 */
export function requireAdmin(ctx: AccountsContext): RequestHandler {
  const configured = ctx.infra.config.ADMIN_API_KEY;
  const expected = configured ? createHash('sha256').update(configured).digest() : null;
  return async (req, _res, next) => {
    try {
      const given = req.header('x-admin-key');
      if (given !== undefined) {
        if (!expected) throw new ApiError(401, 'ADMIN_DISABLED', 'the admin key is disabled: set ADMIN_API_KEY on the server');
        if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) throw new ApiError(401, 'ADMIN_KEY_INVALID', 'the X-Admin-Key is not valid');
        return next();
      }
      const principal = await resolvePrincipal(ctx, req);
      if (!principal) throw new ApiError(401, 'ADMIN_KEY_REQUIRED', 'send the admin key in the X-Admin-Key header');
      if (principal.role !== 'admin') throw new ApiError(403, 'ROLE_REQUIRED', 'this route is for admins', { requiredRoles: ['admin'], role: principal.role });
      req.principal = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}
