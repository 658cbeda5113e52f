import { SignJWT, jwtVerify } from 'jose';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { objectId } from '../../adapters/ids.ts';
import { emailClaimDecider } from '../../domain/accounts/decide.ts';
import { accountStreamId, emailClaimStreamId, normalizeEmail, SCOPES, type Role, type Scope } from '../../domain/accounts/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { findAccount, findAccountByEmail, type AccountRow } from '../../projections/accounts.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { sha256Hex } from '../x402/secrets.ts';
import { runAccountCommand, type AccountsContext } from './context.ts';
import { apiKeyPrefix, hashPassword, newApiKey, verifyPassword } from './secrets.ts';

export interface CreatedKey { keyId: string; key: string; label: string; scopes: Scope[]; keyPrefix: string; createdAt: string }

/**
 * Opens an account: the e-mail's claim stream first (no_stream: one account per address, even under
 * concurrent sign-ups), then the account stream. A claim whose account never got written (a crash in
 * between) is completed by the next registration with that address.
 */
export async function registerAccount(
  ctx: AccountsContext,
  input: { email: string; password: string | null; role?: Role; via: 'self' | 'admin'; firstKey?: boolean },
  origin: CommandOrigin,
): Promise<{ account: AccountRow | null; accountId: string; apiKey: CreatedKey | null }> {
  const email = normalizeEmail(input.email);
  const emailHash = sha256Hex(email);
  const now = ctx.infra.clock.now();
  let accountId = objectId(now.getTime());
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  try {
    await handleCommand(ctx.infra, emailClaimDecider, emailClaimStreamId(emailHash), { type: 'ClaimEmail', data: { emailHash, accountId } }, origin);
  } catch (error) {
    if (!(error instanceof DomainError && error.code === 'EMAIL_TAKEN')) throw error;
    let claimedBy: string | null = null;
    for await (const e of ctx.infra.store.readStream(emailClaimStreamId(emailHash))) claimedBy = (e.data as { accountId: string }).accountId;
    let exists = false;
    for await (const _ of ctx.infra.store.readStream(accountStreamId(claimedBy!), { fromRevision: 0n })) { exists = true; break; }
    if (exists) throw error;
    accountId = claimedBy!;
  }
  await runAccountCommand(ctx, accountId, { type: 'RegisterAccount', data: { accountId, email, passwordHash, role: input.role ?? 'customer', via: input.via } }, origin);
  const apiKey = input.firstKey ? await createApiKey(ctx, accountId, { label: 'Default', scopes: [...SCOPES] }, origin) : null;
  return { account: (await findAccount(ctx.infra.database.db, accountId)) ?? null, accountId, apiKey };
}

export async function createApiKey(ctx: AccountsContext, accountId: string, input: { label: string; scopes: Scope[] }, origin: CommandOrigin): Promise<CreatedKey> {
  const key = newApiKey();
  const keyId = objectId(ctx.infra.clock.now().getTime());
  const handled = await runAccountCommand(ctx, accountId, {
    type: 'CreateApiKey', data: { keyId, label: input.label, scopes: input.scopes, keyHash: sha256Hex(key), keyPrefix: apiKeyPrefix(key) },
  }, origin, ['accounts', 'account-api-keys']);
  const created = handled.events.find((e) => e.type === 'AccountApiKeyCreated');
  if (!created || created.type !== 'AccountApiKeyCreated') throw new Error('key creation appended nothing');
  return { keyId, key, label: created.data.label, scopes: created.data.scopes, keyPrefix: created.data.keyPrefix, createdAt: created.data.createdAt };
}

export async function revokeApiKey(ctx: AccountsContext, accountId: string, keyId: string, origin: CommandOrigin) {
  // waits for the key read model, so the key is refused from the moment this returns
  await runAccountCommand(ctx, accountId, { type: 'RevokeApiKey', data: { keyId } }, origin, ['account-api-keys']);
}

/** Sign-in failures are limited per e-mail and per client address (Redis-backed when configured). */
export class LoginGuard {
  private readonly byEmail: RateLimiterAbstract;
  private readonly byAddress: RateLimiterAbstract;
  constructor(points: number, redis: unknown | null) {
    // shared by every API instance through Redis; an unreachable Redis falls back to counting in-process
    const make = (keyPrefix: string, p: number) => {
      const memory = new RateLimiterMemory({ keyPrefix, points: p, duration: 900, blockDuration: 900 });
      return redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix: `pmx:${keyPrefix}`, points: p, duration: 900, blockDuration: 900, insuranceLimiter: memory }) : memory;
    };
    this.byEmail = make('login-email', points);
    this.byAddress = make('login-ip', points * 4);
  }

  async blockedSeconds(email: string, address: string): Promise<number> {
    const [a, b] = await Promise.all([this.byEmail.get(email), this.byAddress.get(address)]);
    const blocked = (r: Awaited<ReturnType<RateLimiterAbstract['get']>>, limit: number) => (r && r.consumedPoints >= limit ? Math.ceil(r.msBeforeNext / 1000) : 0);
    return Math.max(blocked(a, this.byEmail.points), blocked(b, this.byAddress.points));
  }

  async failed(email: string, address: string): Promise<void> {
    await Promise.all([this.byEmail.penalty(email, 1), this.byAddress.penalty(address, 1)]);
  }

  async succeeded(email: string): Promise<void> {
    await this.byEmail.delete(email);
  }
}

export async function signIn(ctx: AccountsContext, guard: LoginGuard, input: { email: string; password: string; address: string }) {
  const email = normalizeEmail(input.email);
  const blocked = await guard.blockedSeconds(email, input.address);
  if (blocked > 0) throw new DomainError('rate_limited', 'TOO_MANY_LOGIN_ATTEMPTS', `too many failed sign-ins; retry in ${blocked} s`, { retryAfterSeconds: blocked });
  const account = await findAccountByEmail(ctx.infra.database.db, email);
  const ok = await verifyPassword(input.password, account?.password_hash ?? null);
  if (!account || !ok) {
    await guard.failed(email, input.address);
    throw new DomainError('forbidden', 'INVALID_CREDENTIALS', 'e-mail or password is wrong');
  }
  if (!account.is_active) throw new DomainError('forbidden', 'ACCOUNT_DISABLED', 'this account is deactivated');
  await guard.succeeded(email);
  const now = ctx.infra.clock.now();
  const accessToken = await new SignJWT({ role: account.role, email: account.email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(account.account_id)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(now.getTime() / 1000) + ctx.infra.config.JWT_TTL_SECONDS)
    .setIssuer('proxies-marketplace')
    .sign(ctx.jwtKey);
  return { access_token: accessToken, token_type: 'Bearer', expires_in: ctx.infra.config.JWT_TTL_SECONDS, user: { _id: account.account_id, email: account.email, role: account.role } };
}

/** The account id a sign-in token names, or null when it is not ours, expired or malformed. */
export async function verifyAccessToken(ctx: AccountsContext, token: string): Promise<string | null> {
  try {
    const { payload } = await jwtVerify(token, ctx.jwtKey, { algorithms: ['HS256'], issuer: 'proxies-marketplace', currentDate: ctx.infra.clock.now() });
    return typeof payload.sub === 'string' ? payload.sub : null;
  } catch {
    return null;
  }
}
