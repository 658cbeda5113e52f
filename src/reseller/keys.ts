import { createHash, randomUUID } from 'node:crypto';
import type { AuditContext, KeyMaterial, QualityTier } from '../../domain/reseller/events.ts';
import { poolKeyStreamId } from '../../domain/reseller/events.ts';
import { idempotencyDecider, idempotencyStreamId, type IdempotentOperation } from '../../domain/reseller/idempotency.ts';
import { poolKeyDecider, type CapPolicy, type PoolKeyCommand } from '../../domain/reseller/pool-keys.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { uuidv7 } from '../../adapters/ids.ts';
import { findPoolKey, listPoolKeys, type PoolKeyRow } from '../../projections/pool-keys.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { newPoolKey, newPoolKeyId } from './secrets.ts';

/** The reseller making the call, as the auth middleware established it, and what the audit log records. */
export interface ResellerCaller {
  accountId: string;
  /** Partner accounts (and admins) may mint uncapped keys. */
  partner: boolean;
  audit: AuditContext;
}

/** Emitted in-process after a write that must cut a key's tunnels (disable, regenerate, delete, suspend). */
export const POOL_KEY_CHANGED = 'pool-key-changed';

const READ_MODELS = ['pool-keys'];

const policyOf = (infra: Infrastructure, caller: ResellerCaller): CapPolicy => ({
  maxCapGB: infra.config.RESELLER_MAX_PAK_CAP_GB,
  unlimitedAllowed: caller.partner || infra.config.RESELLER_PARTNER_ACCOUNTS.includes(caller.accountId),
});
const originOf = (caller: ResellerCaller): CommandOrigin => ({ actor: `reseller:${caller.accountId}`, correlationId: caller.audit.requestId ?? randomUUID() });

/** A stable hash of what was asked: key order in the JSON body does not matter. */
export function requestHash(operation: IdempotentOperation, resourceId: string | null, body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)])) : v;
  return createHash('sha256').update(JSON.stringify({ operation, resourceId, body: canonical(body ?? {}) })).digest('hex');
}

/** Runs decide against the key's current state without appending, so a refused request records no Idempotency-Key. */
async function check(infra: Infrastructure, keyId: string, command: PoolKeyCommand): Promise<void> {
  let state = poolKeyDecider.initialState();
  for await (const e of infra.store.readStream(poolKeyStreamId(keyId))) state = poolKeyDecider.evolve(state, { type: e.type, data: e.data } as never);
  const now = infra.clock.now();
  poolKeyDecider.decide(command, state, { now, newId: () => uuidv7(now.getTime()) });
}

interface Recorded { resourceId: string; operationId: string; payload: Record<string, string> }

/** The first request with this Idempotency-Key records its plan; a repeat gets that plan back and finishes it. */
async function recordOrReplay(infra: Infrastructure, caller: ResellerCaller, idempotencyKey: string, operation: IdempotentOperation, hash: string, plan: Recorded): Promise<Recorded> {
  const handled = await handleCommand(infra, idempotencyDecider, idempotencyStreamId(caller.accountId, idempotencyKey), {
    type: 'RecordIdempotencyKey', data: { resellerId: caller.accountId, idempotencyKey, operation, requestHash: hash, ...plan },
  }, originOf(caller), { retries: 20 });
  if (handled.state.status !== 'recorded') throw new Error('idempotency record missing after decide');
  const r = handled.state.record;
  return { resourceId: r.resourceId, operationId: r.operationId, payload: r.payload };
}

const material = (payload: Record<string, string>): KeyMaterial => ({ hash: payload.keyHash!, sealed: payload.sealedKey!, prefix: payload.keyPrefix! });
const payloadOf = (m: KeyMaterial) => ({ keyHash: m.hash, sealedKey: m.sealed, keyPrefix: m.prefix });

async function settled(infra: Infrastructure, position: bigint, keyId: string): Promise<PoolKeyRow> {
  // a replayed no-op appended nothing: wait for the key's last event, which the first request appended
  let at = position;
  if (at === 0n) for await (const e of infra.store.readStream(poolKeyStreamId(keyId))) at = e.position;
  await infra.projector.waitFor(at, READ_MODELS, infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  const row = await findPoolKey(infra.database.db, keyId);
  if (!row) throw new DomainError('not_found', 'POOL_KEY_NOT_FOUND', 'no such pool access key');
  return row;
}

export interface CreateInput { label: string; trafficCapGB: number | null; qualityTier: QualityTier; expiresAt: string | null }

export async function createPoolKey(infra: Infrastructure, caller: ResellerCaller, input: CreateInput, idempotencyKey: string | undefined, body: unknown): Promise<PoolKeyRow> {
  const fresh = newPoolKey(infra.secrets);
  let plan: Recorded = { resourceId: newPoolKeyId(), operationId: randomUUID(), payload: payloadOf(fresh.material) };
  const command = (p: Recorded): PoolKeyCommand => ({
    type: 'CreatePoolKey',
    data: { keyId: p.resourceId, resellerId: caller.accountId, ...input, key: material(p.payload), policy: policyOf(infra, caller), operationId: p.operationId, audit: caller.audit },
  });
  if (idempotencyKey) {
    await check(infra, plan.resourceId, command(plan));
    plan = await recordOrReplay(infra, caller, idempotencyKey, 'create', requestHash('create', null, body), plan);
  }
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(plan.resourceId), command(plan), originOf(caller));
  return settled(infra, handled.position, plan.resourceId);
}

export async function topUpPoolKey(infra: Infrastructure, caller: ResellerCaller, keyId: string, input: { addTrafficGB: number | null; extendDays: number | null }, idempotencyKey: string | undefined, body: unknown): Promise<PoolKeyRow> {
  let plan: Recorded = { resourceId: keyId, operationId: randomUUID(), payload: {} };
  const command = (p: Recorded): PoolKeyCommand => ({ type: 'TopUpPoolKey', data: { resellerId: caller.accountId, ...input, policy: policyOf(infra, caller), operationId: p.operationId, audit: caller.audit } });
  if (idempotencyKey) {
    await check(infra, keyId, command(plan));
    plan = await recordOrReplay(infra, caller, idempotencyKey, 'topup', requestHash('topup', keyId, body), plan);
  }
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(keyId), command(plan), originOf(caller));
  return settled(infra, handled.position, keyId);
}

export async function regeneratePoolKey(infra: Infrastructure, caller: ResellerCaller, keyId: string, idempotencyKey: string | undefined): Promise<PoolKeyRow> {
  const fresh = newPoolKey(infra.secrets);
  let plan: Recorded = { resourceId: keyId, operationId: randomUUID(), payload: payloadOf(fresh.material) };
  const command = (p: Recorded): PoolKeyCommand => ({ type: 'RegeneratePoolKey', data: { resellerId: caller.accountId, key: material(p.payload), operationId: p.operationId, audit: caller.audit } });
  if (idempotencyKey) {
    await check(infra, keyId, command(plan));
    plan = await recordOrReplay(infra, caller, idempotencyKey, 'regenerate', requestHash('regenerate', keyId, {}), plan);
  }
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(keyId), command(plan), originOf(caller));
  const row = await settled(infra, handled.position, keyId);
  infra.events.emit(POOL_KEY_CHANGED, keyId);
  return row;
}

export async function updatePoolKey(infra: Infrastructure, caller: ResellerCaller, keyId: string, changes: Extract<PoolKeyCommand, { type: 'UpdatePoolKey' }>['data']['changes']): Promise<PoolKeyRow> {
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(keyId), { type: 'UpdatePoolKey', data: { resellerId: caller.accountId, policy: policyOf(infra, caller), audit: caller.audit, changes } }, originOf(caller));
  const row = await settled(infra, handled.position, keyId);
  infra.events.emit(POOL_KEY_CHANGED, keyId);
  return row;
}

export async function revealPoolKey(infra: Infrastructure, caller: ResellerCaller, keyId: string): Promise<PoolKeyRow> {
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(keyId), { type: 'RevealPoolKey', data: { resellerId: caller.accountId, audit: caller.audit } }, originOf(caller));
  return settled(infra, handled.position, keyId);
}

export async function deletePoolKey(infra: Infrastructure, caller: ResellerCaller, keyId: string): Promise<void> {
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(keyId), { type: 'DeletePoolKey', data: { resellerId: caller.accountId, audit: caller.audit } }, originOf(caller));
  await infra.projector.waitFor(handled.position, READ_MODELS, infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  infra.events.emit(POOL_KEY_CHANGED, keyId);
}

/** Cap used up or expiry passed: suspended once, whoever notices first (gateway or worker). */
export async function suspendPoolKey(infra: Infrastructure, keyId: string, reason: 'cap_exceeded' | 'expired', usedBytes: bigint): Promise<boolean> {
  const handled = await handleCommand(infra, poolKeyDecider, poolKeyStreamId(keyId), { type: 'SuspendPoolKey', data: { reason, usedBytes } }, { actor: 'system', correlationId: `suspend-${keyId}` });
  if (handled.events.length > 0) infra.events.emit(POOL_KEY_CHANGED, keyId);
  return handled.events.length > 0;
}

/** A key of this reseller, or 404 (another reseller's key does not exist for the caller). */
export async function ownedPoolKey(infra: Infrastructure, caller: ResellerCaller, keyId: string): Promise<PoolKeyRow> {
  const row = await findPoolKey(infra.database.db, keyId);
  if (!row || row.reseller_id !== caller.accountId) throw new DomainError('not_found', 'POOL_KEY_NOT_FOUND', 'no such pool access key');
  return row;
}

export const resellerPoolKeys = (infra: Infrastructure, caller: ResellerCaller) => listPoolKeys(infra.database.db, caller.accountId);
