import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';

/**
 * Exclusive leases of one proxy: stream `pp-lease-<proxyId>`. At most one lease is live at a time;
 * a lease whose time is up counts as free (the decision sees the clock), and the next acquire or the
 * worker records its expiry. A lease whose credit could not be debited is cancelled at once.
 */
export type LeaseEvent =
  | { type: 'PoolProxyLeased'; data: { leaseId: string; proxyId: string; userId: string; proxy: LeasedProxy; leasedAt: string; expiresAt: string } }
  | { type: 'PoolLeaseReleased'; data: { leaseId: string; proxyId: string; userId: string; releasedAt: string } }
  | { type: 'PoolLeaseExpired'; data: { leaseId: string; proxyId: string; userId: string; expiredAt: string } }
  | { type: 'PoolLeaseCancelled'; data: { leaseId: string; proxyId: string; userId: string; reason: string; cancelledAt: string } };

export interface LeasedProxy { ip: string; port: number; protocol: string; country: string | null; anonymity: string | null }

export type LeaseState =
  | { status: 'free' }
  | { status: 'leased'; leaseId: string; userId: string; expiresAt: Date };

export type LeaseCommand =
  | { type: 'AcquireLease'; data: { leaseId: string; proxyId: string; userId: string; proxy: LeasedProxy; durationSeconds: number } }
  | { type: 'ReleaseLease'; data: { leaseId: string; proxyId: string; userId: string } }
  | { type: 'ExpireLease'; data: { leaseId: string; proxyId: string } }
  | { type: 'CancelLease'; data: { leaseId: string; proxyId: string; reason: string } };

export const LEASE_DEFAULT_SECONDS = 300;
export const LEASE_MAX_SECONDS = 3600;
export const poolLeaseStreamId = (proxyId: string) => `pp-lease-${proxyId}`;

export const leaseDecider = {
  initialState: (): LeaseState => ({ status: 'free' }),

  evolve(state: LeaseState, event: LeaseEvent): LeaseState {
    switch (event.type) {
      case 'PoolProxyLeased':
        return { status: 'leased', leaseId: event.data.leaseId, userId: event.data.userId, expiresAt: new Date(event.data.expiresAt) };
      case 'PoolLeaseReleased':
      case 'PoolLeaseExpired':
      case 'PoolLeaseCancelled':
        return state.status === 'leased' && state.leaseId === event.data.leaseId ? { status: 'free' } : state;
      default:
        return assertNever(event);
    }
  },

  decide(command: LeaseCommand, state: LeaseState, { now }: DecisionContext): LeaseEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'AcquireLease': {
        const d = command.data;
        if (!Number.isInteger(d.durationSeconds) || d.durationSeconds < 1 || d.durationSeconds > LEASE_MAX_SECONDS) {
          throw new DomainError('invalid', 'INVALID_LEASE_DURATION', `lease_duration_seconds must be 1 to ${LEASE_MAX_SECONDS}`);
        }
        const out: LeaseEvent[] = [];
        if (state.status === 'leased') {
          if (state.expiresAt > now) throw new DomainError('conflict', 'PROXY_LEASED', 'this proxy is leased by someone else');
          out.push({ type: 'PoolLeaseExpired', data: { leaseId: state.leaseId, proxyId: d.proxyId, userId: state.userId, expiredAt: state.expiresAt.toISOString() } });
        }
        const expiresAt = new Date(now.getTime() + d.durationSeconds * 1000).toISOString();
        out.push({ type: 'PoolProxyLeased', data: { leaseId: d.leaseId, proxyId: d.proxyId, userId: d.userId, proxy: d.proxy, leasedAt: at, expiresAt } });
        return out;
      }
      case 'ReleaseLease': {
        const d = command.data;
        if (state.status !== 'leased' || state.leaseId !== d.leaseId || state.userId !== d.userId) {
          throw new DomainError('not_found', 'LEASE_NOT_FOUND', 'no active lease with this id');
        }
        if (state.expiresAt <= now) {
          return [{ type: 'PoolLeaseExpired', data: { leaseId: d.leaseId, proxyId: d.proxyId, userId: d.userId, expiredAt: state.expiresAt.toISOString() } }];
        }
        return [{ type: 'PoolLeaseReleased', data: { ...d, releasedAt: at } }];
      }
      case 'ExpireLease': {
        const d = command.data;
        if (state.status !== 'leased' || state.leaseId !== d.leaseId || state.expiresAt > now) return [];
        return [{ type: 'PoolLeaseExpired', data: { ...d, userId: state.userId, expiredAt: state.expiresAt.toISOString() } }];
      }
      case 'CancelLease': {
        const d = command.data;
        if (state.status !== 'leased' || state.leaseId !== d.leaseId) return [];
        return [{ type: 'PoolLeaseCancelled', data: { ...d, userId: state.userId, cancelledAt: at } }];
      }
      default:
        return assertNever(command);
    }
  },
};
