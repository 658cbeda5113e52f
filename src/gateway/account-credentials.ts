import { timingSafeEqual } from 'node:crypto';
import type { GatewayFailure } from '../../adapters/gateway/brain.ts';
import type { ParsedUsername } from '../../domain/gateway/username.ts';
import { findAccountPortByLogin, type AccountPortRow } from '../../projections/account-ports.ts';
import { findAccount } from '../../projections/accounts.ts';
import { usedBytesBySlotType } from '../../projections/account-usage.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { sha256Hex } from '../x402/secrets.ts';
import { suspendedPortIds } from '../accounts/suspension.ts';

/**
 * Account credentials on the gateway (seed 002): an account port's proxyLogin/proxyPassword reaches its
 * device; `psx_<accountId>-mbl-<country>` with the account's pool password reaches the pool. Both spend
 * the account's traffic of the slot type (pool: shared) through the in-flight budget; metered as
 * `aport-<portId>` / `apool-<accountId>` so usage is known per port.
 */
export type AccountCredential =
  | { kind: 'aport'; port: AccountPortRow; accountId: string; totalBytes: bigint; usedBytes: bigint }
  | { kind: 'apool'; accountId: string; parsed: ParsedUsername; passwordHash: string; totalBytes: bigint; usedBytes: bigint };

/**
 * The budget an account credential spends (#8): one per account traffic pool, so every port of the slot
 * type and the pool password lease from the same ledger entry, on every gateway instance.
 */
export const accountBudgetKey = (accountId: string, slotType: 'shared' | 'private') => `account-${accountId}-${slotType}`;
export const budgetKeyOf = (c: AccountCredential) => accountBudgetKey(c.accountId, c.kind === 'aport' ? c.port.slot_type : 'shared');

type Result = { ok: true; credential: AccountCredential } | { ok: false; failure: GatewayFailure };
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const invalid = (message: string): Result => ({ ok: false, failure: { code: 'E_AUTH_INVALID', message } });
export const isAccountId = (s: string) => /^[a-f0-9]{24}$/.test(s);

/** Bought and used bytes of the account's slot type (what the budget spends from). */
export async function accountTraffic(infra: Infrastructure, accountId: string, slotType: 'shared' | 'private') {
  const account = await findAccount(infra.database.db, accountId);
  if (!account) return null;
  const used = await usedBytesBySlotType(infra.database.db, accountId);
  return { account, totalBytes: BigInt(slotType === 'private' ? account.traffic_private_bytes : account.traffic_shared_bytes), usedBytes: used[slotType] };
}

/** null: no account port has this login (the caller tries other kinds). */
export async function resolveAccountPort(infra: Infrastructure, username: string, password: string): Promise<Result | null> {
  const port = await findAccountPortByLogin(infra.database.db, username);
  if (!port) return null;
  if (!sameHash(sha256Hex(password), port.password_hash)) return invalid('bad credentials');
  if (new Date(port.expires_at) <= infra.clock.now()) return invalid('this port has expired');
  const traffic = await accountTraffic(infra, port.account_id, port.slot_type);
  if (!traffic || !traffic.account.is_active) return invalid('the account of this port is deactivated');
  if ((await suspendedPortIds(infra.database.db, port.account_id, infra.clock.now())).has(port.port_id)) return invalid('this port is suspended: its slot subscription lapsed');
  return { ok: true, credential: { kind: 'aport', port, accountId: port.account_id, totalBytes: traffic.totalBytes, usedBytes: traffic.usedBytes } };
}

export async function resolveAccountPool(infra: Infrastructure, parsed: ParsedUsername, password: string): Promise<Result> {
  const traffic = await accountTraffic(infra, parsed.account, 'shared');
  const hash = traffic?.account.pool_password_hash;
  if (!traffic || !hash || !sameHash(sha256Hex(password), hash)) return invalid('bad credentials');
  if (!traffic.account.is_active) return invalid('this account is deactivated');
  return { ok: true, credential: { kind: 'apool', accountId: parsed.account, parsed, passwordHash: hash, totalBytes: traffic.totalBytes, usedBytes: traffic.usedBytes } };
}
