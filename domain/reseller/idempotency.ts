import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';

/**
 * Idempotency-Key records for a reseller's writes (create, topup, regenerate). One stream per
 * (reseller, key): the first request records what it is about to do — the request's hash, the
 * resource and an operation id, plus what a retry needs to finish the same operation (e.g. the sealed
 * new key) — and concurrent or later requests with the same key see that record instead of acting
 * again. A record lives 24 h; the same key with a different request is refused (422).
 */
export type IdempotentOperation = 'create' | 'topup' | 'regenerate';
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

export interface IdempotencyRecord {
  operation: IdempotentOperation;
  requestHash: string;
  resourceId: string;
  operationId: string;
  /** What a retry needs to redo the operation identically (no raw secrets: sealed values only). */
  payload: Record<string, string>;
  recordedAt: string;
  expiresAt: string;
}

export type IdempotencyEvent = {
  type: 'IdempotencyKeyRecorded';
  data: IdempotencyRecord & { resellerId: string; idempotencyKey: string };
};

export type IdempotencyState = { status: 'none' } | { status: 'recorded'; record: IdempotencyRecord };

export type IdempotencyCommand = {
  type: 'RecordIdempotencyKey';
  data: { resellerId: string; idempotencyKey: string; operation: IdempotentOperation; requestHash: string; resourceId: string; operationId: string; payload: Record<string, string> };
};

export const idempotencyStreamId = (resellerId: string, idempotencyKey: string) => `reseller-${resellerId}-idem-${idempotencyKey}`;

export const idempotencyDecider = {
  initialState: (): IdempotencyState => ({ status: 'none' }),

  evolve(_state: IdempotencyState, event: IdempotencyEvent): IdempotencyState {
    switch (event.type) {
      case 'IdempotencyKeyRecorded': {
        const { resellerId: _r, idempotencyKey: _k, ...record } = event.data;
        return { status: 'recorded', record };
      }
      default:
        return assertNever(event.type);
    }
  },

  /** [] means "replay": the state's record names the operation to finish or answer with. */
  decide(command: IdempotencyCommand, state: IdempotencyState, { now }: DecisionContext): IdempotencyEvent[] {
    const d = command.data;
    if (!IDEMPOTENCY_KEY_PATTERN.test(d.idempotencyKey)) {
      throw new DomainError('invalid', 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 8 to 128 characters of A-Z, a-z, 0-9, _ and -');
    }
    if (state.status === 'recorded' && Date.parse(state.record.expiresAt) > now.getTime()) {
      if (state.record.operation === d.operation && state.record.requestHash === d.requestHash) return [];
      throw new DomainError('unprocessable', 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request in the last 24 h; use a new key', { operation: state.record.operation });
    }
    return [{
      type: 'IdempotencyKeyRecorded',
      data: {
        resellerId: d.resellerId, idempotencyKey: d.idempotencyKey, operation: d.operation, requestHash: d.requestHash,
        resourceId: d.resourceId, operationId: d.operationId, payload: d.payload,
        recordedAt: now.toISOString(), expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
      },
    }];
  },
};
