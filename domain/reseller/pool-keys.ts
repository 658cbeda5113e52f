import { BYTES_PER_GB } from '../pricing/pricing.ts';
import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';
import type { AuditContext, KeyMaterial, PoolKeyEvent, QualityTier, SuspensionReason } from './events.ts';

/** What caps a reseller may set: the per-key ceiling, and whether uncapped keys are allowed (partners). */
export interface CapPolicy {
  maxCapGB: number;
  unlimitedAllowed: boolean;
}

/** The hard range of a cap, before the configured ceiling (RESELLER_MAX_PAK_CAP_GB). */
export const CAP_MIN_GB = 1;
export const CAP_MAX_GB = 100_000;

interface KeyFields {
  keyId: string; resellerId: string; label: string; enabled: boolean; keyHash: string; keyPrefix: string;
  capBytes: bigint | null; qualityTier: QualityTier; expiresAt: string | null;
  /** Operation ids already applied (create, top-ups, regenerations): a retried operation is a no-op. */
  operations: string[];
}
export type PoolKeyState = { status: 'none' } | ({ status: 'live' } & KeyFields) | ({ status: 'deleted' } & KeyFields);

export type PoolKeyCommand =
  | {
      type: 'CreatePoolKey';
      data: {
        keyId: string; resellerId: string; label: string; key: KeyMaterial; trafficCapGB: number | null;
        qualityTier: QualityTier; expiresAt: string | null; policy: CapPolicy; operationId: string; audit: AuditContext;
      };
    }
  | {
      type: 'UpdatePoolKey';
      data: {
        resellerId: string; policy: CapPolicy; audit: AuditContext;
        changes: { label?: string; enabled?: boolean; trafficCapGB?: number | null; qualityTier?: QualityTier; expiresAt?: string | null };
      };
    }
  | { type: 'TopUpPoolKey'; data: { resellerId: string; addTrafficGB: number | null; extendDays: number | null; policy: CapPolicy; operationId: string; audit: AuditContext } }
  | { type: 'RegeneratePoolKey'; data: { resellerId: string; key: KeyMaterial; operationId: string; audit: AuditContext } }
  | { type: 'RevealPoolKey'; data: { resellerId: string; audit: AuditContext } }
  | { type: 'DeletePoolKey'; data: { resellerId: string; audit: AuditContext } }
  /** usedBytes comes from the usage read model: the key stream does not fold traffic. */
  | { type: 'SuspendPoolKey'; data: { reason: SuspensionReason; usedBytes: bigint } };

type Live = Extract<PoolKeyState, { status: 'live' }>;

/** A cap in GB → bytes, or the reason it is refused (0, fractions, over the ceiling, null without partner). */
export function capBytes(capGB: number | null, policy: CapPolicy): bigint | null {
  if (capGB === null) {
    if (!policy.unlimitedAllowed) {
      throw new DomainError('invalid', 'CAP_REQUIRED', 'An unlimited pool-access-key requires a partner account. Set a GB cap for this key.');
    }
    return null;
  }
  if (!Number.isInteger(capGB) || capGB < CAP_MIN_GB || capGB > CAP_MAX_GB) {
    throw new DomainError('invalid', 'INVALID_CAP', `trafficCapGB must be a whole number of GB from ${CAP_MIN_GB} to ${CAP_MAX_GB}`, { trafficCapGB: capGB });
  }
  if (capGB > policy.maxCapGB) {
    throw new DomainError('invalid', 'CAP_OVER_CEILING', `trafficCapGB ${capGB} is over this server's per-key ceiling of ${policy.maxCapGB} GB (RESELLER_MAX_PAK_CAP_GB)`, { trafficCapGB: capGB, maxCapGB: policy.maxCapGB });
  }
  return BigInt(capGB) * BYTES_PER_GB;
}

function futureExpiry(expiresAt: string | null, now: Date): string | null {
  if (expiresAt === null) return null;
  const t = Date.parse(expiresAt);
  if (!Number.isFinite(t)) throw new DomainError('invalid', 'INVALID_EXPIRY', 'expiresAt must be an ISO 8601 date-time');
  if (t <= now.getTime()) throw new DomainError('invalid', 'EXPIRY_IN_PAST', 'expiresAt must be in the future (use enabled: false to stop a key now)');
  return new Date(t).toISOString();
}

function owned(state: PoolKeyState, resellerId: string): Live {
  // another reseller's key, or a deleted one, does not exist as far as the caller can tell
  if (state.status !== 'live' || state.resellerId !== resellerId) throw new DomainError('not_found', 'POOL_KEY_NOT_FOUND', 'no such pool access key');
  return state;
}

export const poolKeyDecider = {
  initialState: (): PoolKeyState => ({ status: 'none' }),

  evolve(state: PoolKeyState, event: PoolKeyEvent): PoolKeyState {
    if (event.type === 'PoolKeyCreated') {
      const d = event.data;
      return {
        status: 'live', keyId: d.keyId, resellerId: d.resellerId, label: d.label, enabled: true, keyHash: d.keyHash, keyPrefix: d.keyPrefix,
        capBytes: d.trafficCapBytes === null ? null : BigInt(d.trafficCapBytes), qualityTier: d.qualityTier, expiresAt: d.expiresAt, operations: [d.operationId],
      };
    }
    if (state.status === 'none') return state;
    switch (event.type) {
      case 'PoolKeyUpdated': {
        const c = event.data.changes;
        return {
          ...state,
          ...(c.label !== undefined ? { label: c.label } : {}),
          ...(c.enabled !== undefined ? { enabled: c.enabled } : {}),
          ...(c.trafficCapBytes !== undefined ? { capBytes: c.trafficCapBytes === null ? null : BigInt(c.trafficCapBytes) } : {}),
          ...(c.qualityTier !== undefined ? { qualityTier: c.qualityTier } : {}),
          ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
        };
      }
      case 'PoolKeyToppedUp':
        return { ...state, capBytes: event.data.trafficCapBytes === null ? null : BigInt(event.data.trafficCapBytes), expiresAt: event.data.expiresAt, operations: [...state.operations, event.data.operationId] };
      case 'PoolKeyRegenerated':
        return { ...state, keyHash: event.data.keyHash, keyPrefix: event.data.keyPrefix, operations: [...state.operations, event.data.operationId] };
      case 'PoolKeyRevealed':
        return state;
      case 'PoolKeyDeleted':
        return { ...state, status: 'deleted' as const, enabled: false };
      case 'PoolKeyAutoSuspended':
        return { ...state, enabled: false };
      default:
        return assertNever(event);
    }
  },

  decide(command: PoolKeyCommand, state: PoolKeyState, { now }: DecisionContext): PoolKeyEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'CreatePoolKey': {
        const d = command.data;
        if (state.status !== 'none') {
          // a retried create (same operation) already happened: nothing to do
          if (state.keyId === d.keyId && state.operations.includes(d.operationId)) return [];
          throw new DomainError('conflict', 'POOL_KEY_EXISTS', `pool access key ${d.keyId} exists`);
        }
        const label = checkLabel(d.label);
        const cap = capBytes(d.trafficCapGB, d.policy);
        return [{
          type: 'PoolKeyCreated',
          data: {
            keyId: d.keyId, resellerId: d.resellerId, label, keyHash: d.key.hash, sealedKey: d.key.sealed, keyPrefix: d.key.prefix,
            trafficCapBytes: cap === null ? null : cap.toString(), qualityTier: d.qualityTier, expiresAt: futureExpiry(d.expiresAt, now),
            operationId: d.operationId, createdAt: at, audit: d.audit,
          },
        }];
      }
      case 'UpdatePoolKey': {
        const key = owned(state, command.data.resellerId);
        const c = command.data.changes;
        const changes: Extract<PoolKeyEvent, { type: 'PoolKeyUpdated' }>['data']['changes'] = {};
        if (c.label !== undefined) changes.label = checkLabel(c.label);
        if (c.enabled !== undefined) changes.enabled = c.enabled;
        if (c.trafficCapGB !== undefined) { const cap = capBytes(c.trafficCapGB, command.data.policy); changes.trafficCapBytes = cap === null ? null : cap.toString(); }
        if (c.qualityTier !== undefined) changes.qualityTier = c.qualityTier;
        if (c.expiresAt !== undefined) changes.expiresAt = futureExpiry(c.expiresAt, now);
        if (Object.keys(changes).length === 0) return [];
        return [{ type: 'PoolKeyUpdated', data: { keyId: key.keyId, resellerId: key.resellerId, changes, updatedAt: at, audit: command.data.audit } }];
      }
      case 'TopUpPoolKey': {
        const key = owned(state, command.data.resellerId);
        const d = command.data;
        if (key.operations.includes(d.operationId)) return [];
        if (d.addTrafficGB === null && d.extendDays === null) throw new DomainError('invalid', 'EMPTY_TOPUP', 'a top-up adds traffic (addTrafficGB) or days (extendDays)');
        if (d.addTrafficGB !== null && (!Number.isInteger(d.addTrafficGB) || d.addTrafficGB <= 0)) throw new DomainError('invalid', 'INVALID_TOPUP', 'addTrafficGB must be a whole number of GB above 0');
        if (d.extendDays !== null && (!Number.isInteger(d.extendDays) || d.extendDays <= 0 || d.extendDays > 3650)) throw new DomainError('invalid', 'INVALID_TOPUP', 'extendDays must be a whole number of days from 1 to 3650');
        let cap = key.capBytes;
        // an uncapped key stays uncapped; a capped one must stay within the same guard as mint
        if (cap !== null && d.addTrafficGB !== null) cap = capBytes(Number(cap / BYTES_PER_GB) + d.addTrafficGB, d.policy);
        let expiresAt = key.expiresAt;
        if (d.extendDays !== null) {
          const from = Math.max(now.getTime(), expiresAt ? Date.parse(expiresAt) : 0);
          expiresAt = new Date(from + d.extendDays * 86_400_000).toISOString();
        }
        return [{
          type: 'PoolKeyToppedUp',
          data: {
            keyId: key.keyId, resellerId: key.resellerId, addTrafficBytes: d.addTrafficGB === null ? null : (BigInt(d.addTrafficGB) * BYTES_PER_GB).toString(),
            extendDays: d.extendDays, trafficCapBytes: cap === null ? null : cap.toString(), expiresAt, operationId: d.operationId, toppedUpAt: at, audit: d.audit,
          },
        }];
      }
      case 'RegeneratePoolKey': {
        const key = owned(state, command.data.resellerId);
        if (key.operations.includes(command.data.operationId)) return [];
        const k = command.data.key;
        return [{ type: 'PoolKeyRegenerated', data: { keyId: key.keyId, resellerId: key.resellerId, keyHash: k.hash, sealedKey: k.sealed, keyPrefix: k.prefix, operationId: command.data.operationId, regeneratedAt: at, audit: command.data.audit } }];
      }
      case 'RevealPoolKey': {
        const key = owned(state, command.data.resellerId);
        return [{ type: 'PoolKeyRevealed', data: { keyId: key.keyId, resellerId: key.resellerId, keyPrefix: key.keyPrefix, label: key.label, revealedAt: at, audit: command.data.audit } }];
      }
      case 'DeletePoolKey': {
        const key = owned(state, command.data.resellerId);
        return [{ type: 'PoolKeyDeleted', data: { keyId: key.keyId, resellerId: key.resellerId, deletedAt: at, audit: command.data.audit } }];
      }
      case 'SuspendPoolKey': {
        // the gateway and the worker may both notice; only a live, enabled key that really is over gets suspended
        if (state.status !== 'live' || !state.enabled) return [];
        const { reason, usedBytes } = command.data;
        if (reason === 'cap_exceeded' && (state.capBytes === null || usedBytes < state.capBytes)) return [];
        if (reason === 'expired' && (state.expiresAt === null || Date.parse(state.expiresAt) > now.getTime())) return [];
        return [{
          type: 'PoolKeyAutoSuspended',
          data: { keyId: state.keyId, resellerId: state.resellerId, reason, label: state.label, usedBytes: usedBytes.toString(), trafficCapBytes: state.capBytes === null ? null : state.capBytes.toString(), expiresAt: state.expiresAt, suspendedAt: at },
        }];
      }
      default:
        return assertNever(command);
    }
  },
};

function checkLabel(label: string): string {
  const trimmed = label.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw new DomainError('invalid', 'INVALID_LABEL', 'label must be 1 to 200 characters');
  return trimmed;
}
