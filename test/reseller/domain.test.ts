import { poolKeyDecider, type PoolKeyCommand, type PoolKeyState } from '../../domain/reseller/pool-keys.ts';
import type { AuditContext, PoolKeyEvent } from '../../domain/reseller/events.ts';
import { idempotencyDecider, type IdempotencyCommand, type IdempotencyEvent, type IdempotencyState } from '../../domain/reseller/idempotency.ts';
import { deciderSpec } from '../support/decider-spec.ts';

const now = '2026-11-20T12:00:00.000Z';
const given = deciderSpec<PoolKeyCommand, PoolKeyEvent, PoolKeyState>(poolKeyDecider);
const audit: AuditContext = { ip: '127.0.0.1', userAgent: 'test', requestId: 'r1', authMethod: 'apiKey' };
const policy = { maxCapGB: 1000, unlimitedAllowed: false };
const key = { hash: 'h1', sealed: 's1', prefix: 'pak_abcd' };
const GB = 1_000_000_000n;
const create = (over: Partial<Extract<PoolKeyCommand, { type: 'CreatePoolKey' }>['data']> = {}): PoolKeyCommand => ({
  type: 'CreatePoolKey',
  data: { keyId: 'k1', resellerId: 'r1', label: 'customer:alice', key, trafficCapGB: 10, qualityTier: 'standard', expiresAt: null, policy, operationId: 'op1', audit, ...over },
});
const created: PoolKeyEvent = {
  type: 'PoolKeyCreated',
  data: { keyId: 'k1', resellerId: 'r1', label: 'customer:alice', keyHash: 'h1', sealedKey: 's1', keyPrefix: 'pak_abcd', trafficCapBytes: (10n * GB).toString(), qualityTier: 'standard', expiresAt: null, operationId: 'op1', createdAt: now, audit },
};

describe('reseller pool-access keys (decider)', () => {
  it('mints a capped key; a retried create with the same operation is a no-op, another is a conflict', () => {
    given([]).when(create()).then([created]);
    given([created]).when(create()).then([]);
    given([created]).when(create({ operationId: 'op2' })).thenThrows('POOL_KEY_EXISTS', 'conflict');
  });

  it('guards caps: whole GB 1..100000, within the ceiling, null only for partners, 0 refused', () => {
    given([]).when(create({ trafficCapGB: 0 })).thenThrows('INVALID_CAP', 'invalid');
    given([]).when(create({ trafficCapGB: 1.5 })).thenThrows('INVALID_CAP', 'invalid');
    given([]).when(create({ trafficCapGB: 100_001, policy: { maxCapGB: 1e9, unlimitedAllowed: false } })).thenThrows('INVALID_CAP', 'invalid');
    given([]).when(create({ trafficCapGB: 1001 })).thenThrows('CAP_OVER_CEILING', 'invalid');
    given([]).when(create({ trafficCapGB: null })).thenThrows('CAP_REQUIRED', 'invalid');
    given([]).when(create({ trafficCapGB: null, policy: { maxCapGB: 1000, unlimitedAllowed: true } }))
      .then([{ ...created, data: { ...created.data, trafficCapBytes: null } } as PoolKeyEvent]);
  });

  it('refuses an expiry in the past', () => {
    given([]).when(create({ expiresAt: '2026-11-20T11:00:00Z' })).thenThrows('EXPIRY_IN_PAST', 'invalid');
    given([]).when(create({ expiresAt: 'soon' })).thenThrows('INVALID_EXPIRY', 'invalid');
  });

  it('hides another reseller\'s key and a deleted one as not found', () => {
    const deleted: PoolKeyEvent = { type: 'PoolKeyDeleted', data: { keyId: 'k1', resellerId: 'r1', deletedAt: now, audit } };
    given([created]).when({ type: 'RevealPoolKey', data: { resellerId: 'r2', audit } }).thenThrows('POOL_KEY_NOT_FOUND', 'not_found');
    given([created, deleted]).when({ type: 'RevealPoolKey', data: { resellerId: 'r1', audit } }).thenThrows('POOL_KEY_NOT_FOUND', 'not_found');
    given([created]).when({ type: 'DeletePoolKey', data: { resellerId: 'r1', audit } }).then([deleted]);
  });

  it('tops up: adds GB within the guard, extends expiry from max(now, current), once per operation', () => {
    const topup = (addTrafficGB: number | null, extendDays: number | null, operationId = 'op2'): PoolKeyCommand => ({ type: 'TopUpPoolKey', data: { resellerId: 'r1', addTrafficGB, extendDays, policy, operationId, audit } });
    given([created]).when(topup(5, 30)).then([{
      type: 'PoolKeyToppedUp',
      data: { keyId: 'k1', resellerId: 'r1', addTrafficBytes: (5n * GB).toString(), extendDays: 30, trafficCapBytes: (15n * GB).toString(), expiresAt: '2026-12-20T12:00:00.000Z', operationId: 'op2', toppedUpAt: now, audit },
    }]);
    const later: PoolKeyEvent = { type: 'PoolKeyUpdated', data: { keyId: 'k1', resellerId: 'r1', changes: { expiresAt: '2027-01-01T00:00:00.000Z' }, updatedAt: now, audit } };
    given([created, later]).when(topup(null, 1)).then([{
      type: 'PoolKeyToppedUp',
      data: { keyId: 'k1', resellerId: 'r1', addTrafficBytes: null, extendDays: 1, trafficCapBytes: (10n * GB).toString(), expiresAt: '2027-01-02T00:00:00.000Z', operationId: 'op2', toppedUpAt: now, audit },
    }]);
    given([created]).when(topup(991, null)).thenThrows('CAP_OVER_CEILING');
    given([created]).when(topup(null, null)).thenThrows('EMPTY_TOPUP');
    given([created]).when(topup(5, null, 'op1')).then([]);
  });

  it('updates only what changed and runs the cap guard on a new cap', () => {
    const update = (changes: Extract<PoolKeyCommand, { type: 'UpdatePoolKey' }>['data']['changes']): PoolKeyCommand => ({ type: 'UpdatePoolKey', data: { resellerId: 'r1', policy, audit, changes } });
    given([created]).when(update({ enabled: false, label: ' bob ' })).then([{ type: 'PoolKeyUpdated', data: { keyId: 'k1', resellerId: 'r1', changes: { enabled: false, label: 'bob' }, updatedAt: now, audit } }]);
    given([created]).when(update({ trafficCapGB: null })).thenThrows('CAP_REQUIRED');
    given([created]).when(update({})).then([]);
  });

  it('auto-suspends at the cap or at expiry, once, and a top-up does not re-enable', () => {
    const suspend = (reason: 'cap_exceeded' | 'expired', usedBytes: bigint): PoolKeyCommand => ({ type: 'SuspendPoolKey', data: { reason, usedBytes } });
    const suspended: PoolKeyEvent = { type: 'PoolKeyAutoSuspended', data: { keyId: 'k1', resellerId: 'r1', reason: 'cap_exceeded', label: 'customer:alice', usedBytes: (10n * GB).toString(), trafficCapBytes: (10n * GB).toString(), expiresAt: null, suspendedAt: now } };
    given([created]).when(suspend('cap_exceeded', 10n * GB - 1n)).then([]);
    given([created]).when(suspend('cap_exceeded', 10n * GB)).then([suspended]);
    given([created, suspended]).when(suspend('cap_exceeded', 11n * GB)).then([]);
    given([created]).when(suspend('expired', 0n)).then([]);
    const expiring: PoolKeyEvent = { type: 'PoolKeyCreated', data: { ...(created as Extract<PoolKeyEvent, { type: 'PoolKeyCreated' }>).data, expiresAt: '2026-11-20T11:59:00.000Z' } };
    given([expiring]).when(suspend('expired', 0n)).then([{ type: 'PoolKeyAutoSuspended', data: { ...suspended.data, reason: 'expired', usedBytes: '0', expiresAt: '2026-11-20T11:59:00.000Z' } } as PoolKeyEvent]);
    const toppedUp: PoolKeyEvent = { type: 'PoolKeyToppedUp', data: { keyId: 'k1', resellerId: 'r1', addTrafficBytes: (5n * GB).toString(), extendDays: null, trafficCapBytes: (15n * GB).toString(), expiresAt: null, operationId: 'op9', toppedUpAt: now, audit } };
    const state = [created, suspended, toppedUp].reduce(poolKeyDecider.evolve, poolKeyDecider.initialState());
    if (state.status !== 'live' || state.enabled) throw new Error('a top-up must not re-enable a suspended key');
  });
});

describe('Idempotency-Key records (decider)', () => {
  const spec = deciderSpec<IdempotencyCommand, IdempotencyEvent, IdempotencyState>(idempotencyDecider);
  const record = (requestHash = 'h', operation: 'create' | 'topup' = 'create'): IdempotencyCommand => ({
    type: 'RecordIdempotencyKey', data: { resellerId: 'r1', idempotencyKey: 'mint_0001', operation, requestHash, resourceId: 'k1', operationId: 'op1', payload: { sealedKey: 's' } },
  });
  const recorded: IdempotencyEvent = {
    type: 'IdempotencyKeyRecorded',
    data: { resellerId: 'r1', idempotencyKey: 'mint_0001', operation: 'create', requestHash: 'h', resourceId: 'k1', operationId: 'op1', payload: { sealedKey: 's' }, recordedAt: now, expiresAt: '2026-11-21T12:00:00.000Z' },
  };
  it('records the first use, replays the same request, refuses a different one with 422', () => {
    spec([]).when(record()).then([recorded]);
    spec([recorded]).when(record()).then([]);
    spec([recorded]).when(record('other')).thenThrows('IDEMPOTENCY_KEY_REUSED', 'unprocessable');
    spec([recorded]).when(record('h', 'topup')).thenThrows('IDEMPOTENCY_KEY_REUSED', 'unprocessable');
  });
  it('forgets a record after 24 h and checks the key\'s shape', () => {
    const old: IdempotencyEvent = { ...recorded, data: { ...recorded.data, expiresAt: '2026-11-20T11:00:00.000Z' } };
    spec([old]).when(record('other')).then([{ ...recorded, data: { ...recorded.data, requestHash: 'other' } }]);
    spec([]).when({ ...record(), data: { ...record().data, idempotencyKey: 'short' } }).thenThrows('INVALID_IDEMPOTENCY_KEY', 'invalid');
  });
});
