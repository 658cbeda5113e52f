import type { PaymentRef } from '../sessions/events.ts';

/**
 * Customer accounts (seed 002): identity, API keys, role, and the USD wallet with what it bought.
 * One stream per account (`account-<id>`): it is the ledger, and the boundary that keeps the balance
 * from ever going negative (purchases are decided against its revision). Secrets appear only as hashes.
 * Money is micro-USD as decimal strings; traffic is bytes as decimal strings.
 */
export const ROLES = ['customer', 'reseller', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The seed's scopes, plus billing:write (purchases) and account:write (notifications). */
export const SCOPES = ['ports:read', 'ports:write', 'ports:rotate', 'billing:read', 'billing:write', 'traffic:read', 'account:read', 'account:write'] as const;
export type Scope = (typeof SCOPES)[number];

export type SlotType = 'shared' | 'private';

export type AccountEvent =
  | { type: 'AccountRegistered'; data: { accountId: string; email: string; passwordHash: string | null; role: Role; via: 'self' | 'admin'; registeredAt: string } }
  | { type: 'AccountRoleChanged'; data: { accountId: string; role: Role; previousRole: Role; changedAt: string } }
  | { type: 'AccountActivationChanged'; data: { accountId: string; isActive: boolean; changedAt: string } }
  | { type: 'AccountApiKeyCreated'; data: { accountId: string; keyId: string; label: string; scopes: Scope[]; keyHash: string; keyPrefix: string; createdAt: string } }
  | { type: 'AccountApiKeyRevoked'; data: { accountId: string; keyId: string; revokedAt: string } }
  /** USDC paid through x402 (a claimed payment) turned into USD balance, 1:1. */
  | { type: 'AccountDepositCredited'; data: { accountId: string; amountMicro: string; payment: PaymentRef; creditedAt: string } }
  | { type: 'AccountCreditGranted'; data: { accountId: string; amountMicro: string; reason: string; grantedBy: string; grantedAt: string } }
  | { type: 'AccountSlotsPurchased'; data: { accountId: string; purchaseId: string; slotType: SlotType; quantity: number; unitPriceMicro: string; priceMicro: string; expiresAt: string; purchasedAt: string } }
  | { type: 'AccountTrafficPurchased'; data: { accountId: string; purchaseId: string; slotType: SlotType; bytes: string; basePriceMicro: string; discountPercent: number; priceMicro: string; purchasedAt: string } }
  | { type: 'AccountSlotAssigned'; data: { accountId: string; portId: string; slotType: SlotType; assignedAt: string } }
  | { type: 'AccountSlotReleased'; data: { accountId: string; portId: string; slotType: SlotType; releasedAt: string } }
  | { type: 'AccountPoolPasswordSet'; data: { accountId: string; passwordHash: string; setAt: string } }
  /** The worker saw a slot subscription within its warning window (a notification, once per purchase). */
  | { type: 'AccountSlotsExpiring'; data: { accountId: string; purchaseId: string; slotType: SlotType; quantity: number; expiresAt: string; warnedAt: string } }
  /** The holder read notifications: the listed ids, or every notification shown so far (`all`). */
  | { type: 'AccountNotificationsRead'; data: { accountId: string; notificationIds: string[]; all: boolean; readAt: string } }
  | { type: 'AccountNotificationDeleted'; data: { accountId: string; notificationId: string; deletedAt: string } };

export const accountStreamId = (accountId: string) => `account-${accountId}`;
/** Claim stream that makes an e-mail address register once (appended with no_stream). */
export const emailClaimStreamId = (emailHash: string) => `account-email-${emailHash}`;

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
