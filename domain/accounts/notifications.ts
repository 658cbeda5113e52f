import { createHash } from 'node:crypto';
import type { SlotType } from './events.ts';

/**
 * Notifications of an account (seed 002's /v1/account/notifications), raised by events: traffic running
 * low or out, slot subscriptions about to expire, a port's device going offline and coming back. Their
 * ids derive from the event that raised them, so a rebuild reproduces them exactly; reading and deleting
 * them are the holder's events on the account stream.
 */
export type NotificationKind = 'low_traffic' | 'traffic_exhausted' | 'expiring_slots' | 'port_offline' | 'port_online';
/** The official MCP server's vocabulary: type is the severity, category the area. */
export type NotificationSeverity = 'info' | 'warning' | 'success' | 'error';
export type NotificationCategory = 'port' | 'billing' | 'account' | 'system';

/** Below this share of the traffic bought (per slot type) the account is warned once (and flagged lowTraffic). */
export const LOW_TRAFFIC_SHARE = 0.1;
/** Slot subscriptions this close to their expiry are warned once (and flag nearingExpiration). */
export const NEARING_EXPIRATION_DAYS = 3;

/** 24 hex characters, like every id of the account API. */
export const notificationId = (sourceEventId: string, subject: string) => createHash('sha256').update(`${sourceEventId}:${subject}`).digest('hex').slice(0, 24);

export interface NotificationText { kind: NotificationKind; severity: NotificationSeverity; category: NotificationCategory; title: string; message: string }

const gb = (bytes: bigint) => (Number(bytes) / 1e9).toFixed(3).replace(/\.?0+$/, '');

export function trafficNotice(kind: 'low_traffic' | 'traffic_exhausted', slotType: SlotType, availableBytes: bigint, purchasedBytes: bigint): NotificationText {
  const buy = `POST /v1/billing/purchase-traffic${slotType === 'private' ? '-private' : ''}`;
  return kind === 'low_traffic'
    ? { kind, severity: 'warning', category: 'billing', title: `Low ${slotType} traffic`, message: `${gb(availableBytes)} GB of ${gb(purchasedBytes)} GB ${slotType} traffic left; buy more with ${buy}` }
    : { kind, severity: 'error', category: 'billing', title: `No ${slotType} traffic left`, message: `Your ${slotType} ports stop carrying traffic until you buy more with ${buy}` };
}

export function expiringNotice(slotType: SlotType, quantity: number, expiresAt: string): NotificationText {
  return {
    kind: 'expiring_slots', severity: 'warning', category: 'billing', title: `${slotType} port slots expire soon`,
    message: `${quantity} ${slotType} port slot${quantity === 1 ? '' : 's'} expire${quantity === 1 ? 's' : ''} at ${expiresAt}; their ports stop then unless you buy slots again`,
  };
}

export function portNotice(online: boolean, displayName: string): NotificationText {
  return online
    ? { kind: 'port_online', severity: 'success', category: 'port', title: `${displayName} is back online`, message: `The device behind ${displayName} reports healthy again` }
    : { kind: 'port_offline', severity: 'error', category: 'port', title: `${displayName} is offline`, message: `The device behind ${displayName} went offline; rotate or reconfigure the port to move it to another device` };
}
