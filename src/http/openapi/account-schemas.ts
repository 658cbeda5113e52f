import { z } from 'zod';
import { ROLES, SCOPES } from '../../../domain/accounts/events.ts';
import { EXAMPLE_TIME, isoDate, microString } from './common.ts';

/** Shapes of the account API (seed 002) shared by its docs files. */
export const ACCOUNT_ID = '6935a45d04523391208cc33c';
export const KEY_ID = '6935a45d04523391208cc340';
export const PORT_ID = '6935a7065cb903907b750c64';
export const userBody = z.object({ _id: z.string(), id: z.string(), email: z.string(), role: z.enum(ROLES), isActive: z.boolean(), createdAt: isoDate.nullable() }).meta({ id: 'AccountUser' });
export const userExample = { _id: ACCOUNT_ID, id: ACCOUNT_ID, email: 'user@example.com', role: 'customer', isActive: true, createdAt: EXAMPLE_TIME };
export const walletBody = z.object({
  totalDeposited: z.number(), totalSpent: z.number(), availableBalance: z.number(), currency: z.literal('USD'), totalPayments: z.number(), adminCredits: z.number(),
  totalDepositedMicro: z.string(), totalSpentMicro: microString, availableBalanceMicro: z.string(),
}).meta({ id: 'Wallet' });
export const walletExample = { totalDeposited: 100, totalSpent: 50, availableBalance: 50, currency: 'USD', totalPayments: 100, adminCredits: 0, totalDepositedMicro: '100000000', totalSpentMicro: '50000000', availableBalanceMicro: '50000000' };
export const apiKeyBody = z.object({ _id: z.string(), id: z.string(), label: z.string(), scopes: z.array(z.enum(SCOPES)), prefix: z.string(), isActive: z.boolean(), createdAt: isoDate.nullable(), revokedAt: isoDate.nullable() }).meta({ id: 'ApiKey' });
export const apiKeyExample = { _id: KEY_ID, id: KEY_ID, label: 'Default', scopes: ['ports:read'], prefix: 'psx_8cc33c91', isActive: true, createdAt: EXAMPLE_TIME, revokedAt: null };
export const newKeyBody = z.object({ _id: z.string(), id: z.string(), key: z.string().regex(/^psx_/), label: z.string(), scopes: z.array(z.enum(SCOPES)), prefix: z.string(), createdAt: isoDate }).catchall(z.unknown()).meta({ id: 'NewApiKey' });
export const newKeyExample = { _id: KEY_ID, id: KEY_ID, key: `psx_${'a1b2c3d4e5'.repeat(4)}`, label: 'Default', scopes: [...SCOPES], prefix: 'psx_a1b2c3d4', createdAt: EXAMPLE_TIME };
export const accountSecurity = ['apiKey' as const, 'bearer' as const];
