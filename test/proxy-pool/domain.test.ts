import { expect } from 'chai';
import { poolUserDecider, type PoolUserEvent } from '../../domain/proxy-pool/accounts.ts';
import { creditDecider, type CreditEvent } from '../../domain/proxy-pool/credits.ts';
import { leaseDecider, type LeaseEvent } from '../../domain/proxy-pool/leases.ts';
import { observe, initialScoreState, recheckDelaySeconds, score, statusOf, uptimePct } from '../../domain/proxy-pool/score.ts';
import { sourceDecider, type SourceEvent } from '../../domain/proxy-pool/sources.ts';
import { deciderSpec } from '../support/decider-spec.ts';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const at = NOW.toISOString();
const payment = { network: 'base' as const, proof: 'tx_hash' as const, claimKey: 'base-0xabc', transaction: '0xabc', payer: '0xp', amountMicro: '30000' };
const proxy = { ip: '1.2.3.4', port: 80, protocol: 'http', country: 'US', anonymity: 'elite' };

describe('proxy-pool domain', () => {
  describe('users and keys', () => {
    const spec = deciderSpec(poolUserDecider, { now: NOW });
    const key = { keyId: 'k1', keyHash: 'h1', prefix: 'pp_abcde', label: 'default' };
    const registered: PoolUserEvent[] = [
      { type: 'PoolUserRegistered', data: { userId: 'u1', email: 'a@b.c', displayName: 'A', registeredAt: at } },
      { type: 'PoolApiKeyCreated', data: { userId: 'u1', ...key, createdAt: at } },
    ];
    it('registers with a first key, once', () => {
      spec([]).when({ type: 'RegisterPoolUser', data: { userId: 'u1', email: 'a@b.c', displayName: 'A', key } }).then(registered);
      spec(registered).when({ type: 'RegisterPoolUser', data: { userId: 'u1', email: 'a@b.c', displayName: 'A', key } }).thenThrows('USER_EXISTS', 'conflict');
    });
    it('revokes a key once; an unknown key is 404', () => {
      spec(registered).when({ type: 'RevokePoolApiKey', data: { keyId: 'k1' } }).then([{ type: 'PoolApiKeyRevoked', data: { userId: 'u1', keyId: 'k1', revokedAt: at } }]);
      spec([...registered, { type: 'PoolApiKeyRevoked', data: { userId: 'u1', keyId: 'k1', revokedAt: at } }]).when({ type: 'RevokePoolApiKey', data: { keyId: 'k1' } }).then([]);
      spec(registered).when({ type: 'RevokePoolApiKey', data: { keyId: 'nope' } }).thenThrows('KEY_NOT_FOUND', 'not_found');
    });
  });

  describe('credits', () => {
    const spec = deciderSpec(creditDecider, { now: NOW });
    const bought: CreditEvent = { type: 'PoolCreditsPurchased', data: { userId: 'u1', credits: 1, priceMicro: '10000', payment, at } };
    it('a debit needs a credit: 402 at zero, and the balance is the sum of the events', () => {
      spec([]).when({ type: 'DebitCredit', data: { userId: 'u1', leaseId: 'l1', proxyId: 'p1', description: 'x' } }).thenThrows('INSUFFICIENT_CREDITS', 'payment_required');
      spec([bought]).when({ type: 'DebitCredit', data: { userId: 'u1', leaseId: 'l1', proxyId: 'p1', description: 'x' } })
        .then([{ type: 'PoolCreditDebited', data: { userId: 'u1', credits: 1, leaseId: 'l1', proxyId: 'p1', description: 'x', at } }]);
      const spent: CreditEvent = { type: 'PoolCreditDebited', data: { userId: 'u1', credits: 1, leaseId: 'l1', proxyId: 'p1', description: 'x', at } };
      spec([bought, spent]).when({ type: 'DebitCredit', data: { userId: 'u1', leaseId: 'l2', proxyId: 'p1', description: 'x' } }).thenThrows('INSUFFICIENT_CREDITS');
    });
    it('a payment buys once per stream too; grants must be whole and positive', () => {
      spec([bought]).when({ type: 'PurchaseCredits', data: { userId: 'u1', credits: 5, priceMicro: 50000n, payment } }).thenThrows('PAYMENT_ALREADY_USED', 'conflict');
      spec([]).when({ type: 'GrantCredits', data: { userId: 'u1', credits: 0, description: 'x', grantedBy: 'admin' } }).thenThrows('INVALID_CREDITS', 'invalid');
      spec([]).when({ type: 'GrantCredits', data: { userId: 'u1', credits: 1.5, description: 'x', grantedBy: 'admin' } }).thenThrows('INVALID_CREDITS');
    });
  });

  describe('leases', () => {
    const spec = deciderSpec(leaseDecider, { now: NOW });
    const leased = (expiresAt: string): LeaseEvent => ({ type: 'PoolProxyLeased', data: { leaseId: 'l1', proxyId: 'p1', userId: 'u1', proxy, leasedAt: at, expiresAt } });
    const acquire = (leaseId = 'l2', userId = 'u2', durationSeconds = 300) => ({ type: 'AcquireLease' as const, data: { leaseId, proxyId: 'p1', userId, proxy, durationSeconds } });
    it('is exclusive while it runs, and free once it ran out (the expiry is recorded first)', () => {
      spec([leased('2026-11-20T12:05:00.000Z')]).when(acquire()).thenThrows('PROXY_LEASED', 'conflict');
      spec([leased('2026-11-20T11:59:59.000Z')]).when(acquire()).then([
        { type: 'PoolLeaseExpired', data: { leaseId: 'l1', proxyId: 'p1', userId: 'u1', expiredAt: '2026-11-20T11:59:59.000Z' } },
        { type: 'PoolProxyLeased', data: { leaseId: 'l2', proxyId: 'p1', userId: 'u2', proxy, leasedAt: at, expiresAt: '2026-11-20T12:05:00.000Z' } },
      ]);
      spec([]).when(acquire('l2', 'u2', 3601)).thenThrows('INVALID_LEASE_DURATION', 'invalid');
    });
    it('only its holder releases it; a cancelled lease frees the proxy', () => {
      const live = leased('2026-11-20T12:05:00.000Z');
      spec([live]).when({ type: 'ReleaseLease', data: { leaseId: 'l1', proxyId: 'p1', userId: 'u2' } }).thenThrows('LEASE_NOT_FOUND', 'not_found');
      spec([live]).when({ type: 'ReleaseLease', data: { leaseId: 'l1', proxyId: 'p1', userId: 'u1' } }).then([{ type: 'PoolLeaseReleased', data: { leaseId: 'l1', proxyId: 'p1', userId: 'u1', releasedAt: at } }]);
      const cancelled: LeaseEvent = { type: 'PoolLeaseCancelled', data: { leaseId: 'l1', proxyId: 'p1', userId: 'u1', reason: 'INSUFFICIENT_CREDITS', cancelledAt: at } };
      spec([live, cancelled]).when(acquire()).then([{ type: 'PoolProxyLeased', data: { leaseId: 'l2', proxyId: 'p1', userId: 'u2', proxy, leasedAt: at, expiresAt: '2026-11-20T12:05:00.000Z' } }]);
      spec([live]).when({ type: 'ExpireLease', data: { leaseId: 'l1', proxyId: 'p1' } }).then([]); // not yet
    });
  });

  describe('sources', () => {
    const spec = deciderSpec(sourceDecider, { now: NOW });
    const fields = { url: 'http://x/list', parserName: 'plaintext', cronSchedule: '*/30 * * * *', defaultProtocol: 'http' as const, isActive: true, parserOptions: {} };
    const added: SourceEvent = { type: 'PoolSourceAdded', data: { ...fields, sourceId: 's1', ownerId: 'u1', addedAt: at } };
    it('updates only what changed; a deleted source takes no more commands', () => {
      spec([added]).when({ type: 'UpdateSource', data: { isActive: false, cronSchedule: '*/30 * * * *' } })
        .then([{ type: 'PoolSourceUpdated', data: { isActive: false, sourceId: 's1', updatedAt: at } }]);
      spec([added]).when({ type: 'UpdateSource', data: { isActive: true } }).then([]);
      const deleted: SourceEvent = { type: 'PoolSourceDeleted', data: { sourceId: 's1', deletedAt: at } };
      spec([added, deleted]).when({ type: 'RecordScrape', data: { scrapeId: 'x', proxiesDiscovered: 1, proxiesNew: 1, proxiesUpdated: 0, durationMs: 1 } }).thenThrows('SOURCE_NOT_FOUND', 'not_found');
    });
  });

  describe('score', () => {
    it('is 0–1 from recent results, uptime and latency; a dead proxy ranks below live ones', () => {
      let s = initialScoreState();
      expect(statusOf(s)).to.equal('unchecked');
      s = observe(s, true, 250);
      expect(score(s)).to.equal(0.985); // 0.4·1 + 0.3·1 + 0.3·(1 − 250/5000)
      expect(statusOf(s)).to.equal('active');
      const fast = observe(initialScoreState(), true, 50);
      expect(score(fast)).to.be.greaterThan(score(s));
      const died = observe(s, false, null);
      expect(statusOf(died)).to.equal('dead');
      expect(uptimePct(died)).to.equal(50);
      expect(score(died)).to.be.lessThan(score(s) / 2);
      expect(score(observe(died, true, 250))).to.be.greaterThan(score(died));
      expect(score(observe(initialScoreState(), false, null))).to.equal(0);
    });
    it('backs dead proxies off, doubling to a ceiling; live ones on the steady interval', () => {
      const policy = { activeSeconds: 900, deadBaseSeconds: 600, deadMaxSeconds: 3600 };
      expect([1, 2, 3, 4, 10].map((n) => recheckDelaySeconds(false, n, policy))).to.deep.equal([600, 1200, 2400, 3600, 3600]);
      expect(recheckDelaySeconds(true, 0, policy)).to.equal(900);
    });
  });
});
