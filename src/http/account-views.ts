import { z } from 'zod';
import { balanceOf, type AccountRow } from '../../projections/accounts.ts';
import type { ApiKeyRow } from '../../projections/account-api-keys.ts';
import { scopesOf } from '../../projections/account-api-keys.ts';

/** Micro-USD → the seed's USD number (display); the exact value travels next to it as a `…Micro` string. */
export const usd = (micro: bigint) => Number(micro) / 1e6;
export const gb = (bytes: bigint) => Number(bytes) / 1e9;
export const iso = (v: Date | string | null | undefined) => (v === null || v === undefined ? null : new Date(v).toISOString());

/** A USD amount as a JSON number or string, up to 6 decimals → micro-USD, exactly. */
export const usdAmount = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? v.toFixed(6).replace(/\.?0+$/, '') : '') : v.trim();
  const m = /^(-)?(\d{1,9})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) { ctx.addIssue({ code: 'custom', message: 'must be a USD amount like 10 or 2.5 (at most 6 decimals)' }); return z.NEVER; }
  const micro = BigInt(m[2]!) * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
  return m[1] ? -micro : micro;
});

export const userView = (a: AccountRow) => ({ _id: a.account_id, id: a.account_id, email: a.email, role: a.role, isActive: a.is_active, createdAt: iso(a.registered_at) });

export function walletView(a: AccountRow) {
  const deposited = BigInt(a.deposited_micro), credits = BigInt(a.credits_micro), spent = BigInt(a.spent_micro), balance = balanceOf(a);
  return {
    totalDeposited: usd(deposited + credits), totalSpent: usd(spent), availableBalance: usd(balance), currency: 'USD',
    totalPayments: usd(deposited), adminCredits: usd(credits),
    totalDepositedMicro: (deposited + credits).toString(), totalSpentMicro: spent.toString(), availableBalanceMicro: balance.toString(),
  };
}

export const apiKeyView = (k: ApiKeyRow) => ({
  _id: k.key_id, id: k.key_id, label: k.label, scopes: scopesOf(k), prefix: k.key_prefix,
  isActive: k.revoked_at === null, createdAt: iso(k.created_at), revokedAt: iso(k.revoked_at),
});
