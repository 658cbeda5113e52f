import { uuidv7 } from '../../adapters/ids.ts';
import { poolEmailDecider, poolEmailStreamId, poolUserDecider, poolUserStreamId, type NewKey } from '../../domain/proxy-pool/accounts.ts';
import { findPoolUserByKeyHash } from '../../projections/proxy-pool-accounts.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { randomToken, sha256Hex } from '../x402/secrets.ts';
import { RYW, type PoolContext } from './context.ts';

/** `pp_` + 48 random characters (seed 003); the first 8 characters are its visible prefix. */
export const newPoolKey = () => `pp_${randomToken(48)}`;
export const POOL_KEY_RE = /^pp_[a-z0-9]{48}$/;

function keyFor(ctx: PoolContext, label: string): { raw: string; key: NewKey } {
  const raw = newPoolKey();
  return { raw, key: { keyId: uuidv7(ctx.infra.clock.now().getTime()), keyHash: sha256Hex(raw), prefix: raw.slice(0, 8), label } };
}

export async function registerPoolUser(ctx: PoolContext, input: { email: string; displayName: string }, origin: CommandOrigin) {
  const email = input.email.trim().toLowerCase();
  const userId = uuidv7(ctx.infra.clock.now().getTime());
  // The claim first: of two registrations with one email exactly one gets past here.
  await handleCommand(ctx.infra, poolEmailDecider, poolEmailStreamId(sha256Hex(email)), { type: 'ClaimPoolEmail', data: { emailHash: sha256Hex(email), userId } }, origin);
  const { raw, key } = keyFor(ctx, 'default');
  const handled = await handleCommand(ctx.infra, poolUserDecider, poolUserStreamId(userId), { type: 'RegisterPoolUser', data: { userId, email, displayName: input.displayName, key } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-accounts'], RYW(ctx));
  return { user: { id: userId, email, display_name: input.displayName }, api_key: { id: key.keyId, key: raw, prefix: key.prefix, label: key.label } };
}

export async function createPoolKey(ctx: PoolContext, userId: string, label: string, origin: CommandOrigin) {
  const { raw, key } = keyFor(ctx, label);
  const handled = await handleCommand(ctx.infra, poolUserDecider, poolUserStreamId(userId), { type: 'CreatePoolApiKey', data: { key } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-accounts'], RYW(ctx));
  return { id: key.keyId, key: raw, prefix: key.prefix, label, created_at: ctx.infra.clock.now().toISOString() };
}

export async function revokePoolKey(ctx: PoolContext, userId: string, keyId: string, origin: CommandOrigin) {
  const handled = await handleCommand(ctx.infra, poolUserDecider, poolUserStreamId(userId), { type: 'RevokePoolApiKey', data: { keyId } }, origin);
  if (handled.position > 0n) await ctx.infra.projector.waitFor(handled.position, ['pp-accounts'], RYW(ctx));
}

export async function authenticatePoolKey(ctx: PoolContext, raw: string) {
  if (!POOL_KEY_RE.test(raw)) return undefined;
  return findPoolUserByKeyHash(ctx.infra.database.db, sha256Hex(raw));
}
