import { sql } from 'kysely';
import { WrongExpectedVersion } from '../../adapters/eventstore/port.ts';
import { uuidv7 } from '../../adapters/ids.ts';
import { creditDecider, poolCreditsStreamId } from '../../domain/proxy-pool/credits.ts';
import { leaseDecider, poolLeaseStreamId } from '../../domain/proxy-pool/leases.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { creditBalance } from '../../projections/proxy-pool-credits.ts';
import { findLease, leasesPastExpiry } from '../../projections/proxy-pool-leases.ts';
import type { ProxyRow } from '../../projections/proxy-pool-proxies.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { RYW, type PoolContext } from './context.ts';
import { applyFilters, type ProxyFilters } from './queries.ts';

const CANDIDATES = 16;

/**
 * POST /proxies/acquire. The proxy's lease stream decides exclusivity, the user's credit stream
 * decides the debit; the lease is taken first and cancelled if the debit is refused, so a credit is
 * never spent without a lease and two acquires never hold one proxy.
 */
export async function acquireLease(ctx: PoolContext, userId: string, filters: ProxyFilters, durationSeconds: number, origin: CommandOrigin) {
  const db = ctx.infra.database.db;
  const now = ctx.infra.clock.now();
  const balance = await creditBalance(db, userId);
  if (balance < 1) throw new DomainError('payment_required', 'INSUFFICIENT_CREDITS', `You need at least 1 credit to acquire a proxy. Current balance: ${balance}.`, { balance });
  const matching = applyFilters(db.selectFrom('pp_proxies'), { ...filters, status: 'active' }, now);
  const candidates = (await matching.selectAll('pp_proxies')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('pp_leases').select('lease_id')
      .whereRef('pp_leases.proxy_id', '=', 'pp_proxies.proxy_id').where('pp_leases.status', '=', 'active').where('pp_leases.expires_at', '>', now))))
    .orderBy('score', 'desc').orderBy('proxy_id').limit(CANDIDATES).execute()) as ProxyRow[];
  if (candidates.length === 0) {
    const n = Number((await matching.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    if (n === 0) throw new DomainError('not_found', 'NO_MATCHING_PROXY', 'no active proxy matches the filters', { filters });
    throw new DomainError('conflict', 'ALL_PROXIES_LEASED', `all ${n} matching proxies are leased right now`, { matching: n });
  }
  for (const p of candidates) {
    const leaseId = uuidv7(now.getTime());
    const proxy = { ip: p.ip, port: p.port, protocol: p.protocol, country: p.country, anonymity: p.anonymity };
    let leased;
    try {
      leased = await handleCommand(ctx.infra, leaseDecider, poolLeaseStreamId(p.proxy_id), { type: 'AcquireLease', data: { leaseId, proxyId: p.proxy_id, userId, proxy, durationSeconds } }, origin);
    } catch (e) {
      if ((e instanceof DomainError && e.code === 'PROXY_LEASED') || e instanceof WrongExpectedVersion) continue; // someone was faster: next
      throw e;
    }
    let debited;
    try {
      debited = await handleCommand(ctx.infra, creditDecider, poolCreditsStreamId(userId), { type: 'DebitCredit', data: { userId, leaseId, proxyId: p.proxy_id, description: `Proxy acquired: ${p.ip}:${p.port}` } }, origin, { retries: 10 });
    } catch (e) {
      const cancelled = await handleCommand(ctx.infra, leaseDecider, poolLeaseStreamId(p.proxy_id), { type: 'CancelLease', data: { leaseId, proxyId: p.proxy_id, reason: e instanceof DomainError ? e.code : 'debit failed' } }, origin, { retries: 10 });
      // the refusal answers after the lease is gone from the caller's lease list, not before
      await ctx.infra.projector.waitFor(cancelled.position, ['pp-leases'], RYW(ctx));
      throw e;
    }
    const position = debited.position > leased.position ? debited.position : leased.position;
    await ctx.infra.projector.waitFor(position, ['pp-leases', 'pp-credits'], RYW(ctx));
    const event = leased.events.find((ev) => ev.type === 'PoolProxyLeased')!;
    return { lease_id: leaseId, proxy_id: p.proxy_id, proxy, expires_at: (event.data as { expiresAt: string }).expiresAt, credits_remaining: debited.state.balance };
  }
  throw new DomainError('conflict', 'ALL_PROXIES_LEASED', 'every matching proxy was taken while we tried; try again');
}

export async function releaseLease(ctx: PoolContext, userId: string, leaseId: string, origin: CommandOrigin) {
  const lease = await findLease(ctx.infra.database.db, leaseId);
  if (!lease || lease.user_id !== userId) throw new DomainError('not_found', 'LEASE_NOT_FOUND', 'no lease with this id');
  if (lease.status !== 'active') return { lease_id: leaseId, status: lease.status };
  const handled = await handleCommand(ctx.infra, leaseDecider, poolLeaseStreamId(lease.proxy_id), { type: 'ReleaseLease', data: { leaseId, proxyId: lease.proxy_id, userId } }, origin);
  await ctx.infra.projector.waitFor(handled.position, ['pp-leases'], RYW(ctx));
  return { lease_id: leaseId, status: handled.events[0]?.type === 'PoolLeaseExpired' ? 'expired' : 'released' };
}

/** A lease still unpaid this long after it was taken lost its debit to a crash. */
export const UNPAID_LEASE_GRACE_MS = 60_000;

/**
 * The worker's sweep: leases whose time is up are recorded as expired, and a lease that never got its
 * debit (the process died between the two appends) is cancelled, so a proxy is never held unpaid.
 */
export async function expireLeases(ctx: PoolContext): Promise<{ expired: number; cancelled: number }> {
  const db = ctx.infra.database.db;
  const now = ctx.infra.clock.now();
  const due = await leasesPastExpiry(db, now);
  for (const l of due) {
    await handleCommand(ctx.infra, leaseDecider, poolLeaseStreamId(l.proxy_id), { type: 'ExpireLease', data: { leaseId: l.lease_id, proxyId: l.proxy_id } }, { actor: 'worker', correlationId: `expire-${l.lease_id}` });
  }
  const unpaid = await db.selectFrom('pp_leases').select(['lease_id', 'proxy_id']).where('status', '=', 'active')
    .where('leased_at', '<=', new Date(now.getTime() - UNPAID_LEASE_GRACE_MS))
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('pp_credit_transactions').select('event_id').whereRef('pp_credit_transactions.lease_id', '=', 'pp_leases.lease_id'))))
    .limit(500).execute();
  for (const l of unpaid) {
    await handleCommand(ctx.infra, leaseDecider, poolLeaseStreamId(l.proxy_id), { type: 'CancelLease', data: { leaseId: l.lease_id, proxyId: l.proxy_id, reason: 'UNPAID' } }, { actor: 'worker', correlationId: `unpaid-${l.lease_id}` });
  }
  return { expired: due.length, cancelled: unpaid.length };
}
