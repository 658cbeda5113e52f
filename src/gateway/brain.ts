import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AuthRequest, GatewayBrain, GatewayFailure, Lease, Target, Upstream } from '../../adapters/gateway/brain.ts';
import type { AccountKind } from '../../domain/traffic/metered.ts';
import { findPoolAccount } from '../../projections/pool-accounts.ts';
import { findSession } from '../../projections/sessions.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { AccountBudget, BothBudgets, MemoryBudgetLedger, freshestBalance, sliceFor, type Balance, type BudgetLedger } from './budget.ts';
import { GatewayCoordination } from './coordination.ts';
import { resolveCredential, type Credential } from './credentials.ts';
import { accountBudgetKey, accountTraffic, budgetKeyOf } from './account-credentials.ts';
import { suspendedPortIds } from '../accounts/suspension.ts';
import { findAccountPort } from '../../projections/account-ports.ts';
import { AccountLimits } from './limits.ts';
import type { TrafficMeter } from './meter.ts';
import { Router, type DeviceRanker } from './routing.ts';
import type { PakAccess } from './pak.ts';
import type { SynthesizedSessions } from './pak-synthesized.ts';

export type { DeviceRanker, RankedDevice } from './routing.ts';
import type { PeerPool } from '../peers/peer-pool.ts';

export interface BrainOptions {
  rank: DeviceRanker;
  /** The `peer` pool and the peer half of `any` (src/peers/peer-pool.ts); without it `peer` has no capacity. */
  peers?: PeerPool | undefined;
  /** Makes the auth back-off shared by every gateway instance (rate-limiter-flexible's Redis store); in-process when absent. */
  limiterStore?: { redis: unknown } | undefined;
  /** Where slices of each account's balance are leased: Redis (shared by every instance) or in-process. */
  ledger?: BudgetLedger | undefined;
  /** Shared state and what to do without it; in-process (no Redis) when absent. */
  coordination?: GatewayCoordination | undefined;
  /** Connection and session counts across instances; this instance's own when absent. */
  limits?: AccountLimits | undefined;
  /** Reseller pool-access keys (pak_ passwords); refused when absent. */
  pak?: PakAccess | undefined;
  /** The listed sessions of pak connections without a `-sid-` (auto_… ids); unlisted when absent. */
  synthesized?: SynthesizedSessions | undefined;
  /** A leased slice unused this long goes back to the ledger. */
  budgetIdleReturnMs?: number;
  maxConnectionsPerAccount?: number;
  maxSessionsPerAccount?: number;
  /** Auth failures before a client address is blocked for 30 s; repeated blocks escalate to 5 min. */
  authFailures?: { points: number; perSeconds: number; blockSeconds: number; escalateAfterBlocks: number; escalatedBlockSeconds: number };
}

interface AccountState {
  /** session-<id>, pool-<id>, aport-<portId>, …: what the meter and sticky sessions are keyed by. */
  key: string;
  /** What the connection limit counts: the account (`account-<id>`) for its ports and pool password, else `key`. */
  limitKey: string;
  kind: AccountKind;
  id: string;
  totalBytes: bigint;
  usedBytes: bigint;
  leases: Set<AbortController>;
  passwordHash: string | null;
  /** Shared by every account key that spends the same balance (an account's ports and pool password). */
  budget: AccountBudget;
  /** The account keys spending `budget`, this one included. */
  spenders: Set<AccountState>;
  /** A pak_ key: its reseller account's shared traffic, which it spends as well as its own cap. */
  payer: SharedBudget | undefined;
}

interface SharedBudget {
  budget: AccountBudget;
  spenders: Set<AccountState>;
  /** The account's traffic as last read for a pak_ key of it (none of its own credentials may be live here). */
  payerRead: Balance;
}

/** Why a pak_ key is refused when its reseller ran out (E_AUTH_INVALID: the seed's "no balance"). */
const RESELLER_TRAFFIC_SPENT = 'the reseller behind this pool access key has no shared traffic left; ask your provider to top up';

/**
 * The gateway's brain: credentials → account, balance and limits; target → modem (dedicated port's
 * device, or the pool ranked by score with sticky sid sessions in the KeyValue store); bytes → meter.
 */
export class MarketplaceBrain implements GatewayBrain {
  private readonly accounts = new Map<string, AccountState>();
  /** Budget key → the budget and the account keys that spend it. */
  private readonly budgets = new Map<string, SharedBudget>();
  private readonly router: Router;
  private readonly coordination: GatewayCoordination;
  private readonly limits: AccountLimits;
  private readonly authLimiter: RateLimiterAbstract;
  private readonly escalation: RateLimiterAbstract;
  private readonly options: Required<Omit<BrainOptions, 'limiterStore' | 'ledger' | 'coordination' | 'limits' | 'pak' | 'synthesized' | 'peers'>>;
  private readonly ledger: BudgetLedger;
  private readonly pak: PakAccess | undefined;
  private readonly synthesized: SynthesizedSessions | undefined;
  private readonly onPasswordChanged = (accountId: string) => void this.recheckPassword(accountId);
  /** An account deactivated by an admin: its ports' and pool password's tunnels close now, not at the next refresh. */
  private readonly onAccountChanged = (accountId: string) => void this.recheckAccount(accountId).catch((err) => this.infra.logger.warn({ err, account: accountId }, 'gateway account recheck failed'));
  /** An account port deleted, moved or given new credentials: its tunnels close (they reopen with the new state). */
  private readonly onPortChanged = (portId: string) => { const s = this.accounts.get(`aport-${portId}`); if (s) void this.refreshAccount(s).then((ok) => { if (!ok) this.revokeAll(s); else if (s.leases.size) this.revokeAll(s); }); };

  constructor(private readonly infra: Infrastructure, private readonly meter: TrafficMeter, options: BrainOptions) {
    const { limiterStore: _store, ledger, coordination, limits, pak, synthesized, ...rest } = options;
    this.pak = pak;
    this.synthesized = synthesized;
    const now = () => infra.clock.now().getTime();
    this.ledger = ledger ?? new MemoryBudgetLedger(now);
    this.options = {
      budgetIdleReturnMs: 30_000,
      maxConnectionsPerAccount: 100,
      maxSessionsPerAccount: 50,
      authFailures: { points: 5, perSeconds: 30, blockSeconds: 30, escalateAfterBlocks: 3, escalatedBlockSeconds: 300 },
      ...rest,
    };
    this.coordination = coordination ?? new GatewayCoordination(null, { graceMs: 0, now, logger: infra.logger });
    this.limits = limits ?? new AccountLimits(this.coordination, {
      instanceId: 'local', maxConnections: this.options.maxConnectionsPerAccount, maxSessions: this.options.maxSessionsPerAccount, instanceLeaseMs: 60_000, now,
    });
    this.router = new Router(infra, this.options.rank, this.coordination, this.limits, this.options.maxSessionsPerAccount, options.peers);
    const a = this.options.authFailures;
    const limiter = (keyPrefix: string, points: number, duration: number, blockDuration: number): RateLimiterAbstract =>
      options.limiterStore
        // the insurance limiter takes over (in-process) while Redis is out
        ? new RateLimiterRedis({ storeClient: options.limiterStore.redis, keyPrefix, points, duration, blockDuration, insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration, blockDuration }) })
        : new RateLimiterMemory({ keyPrefix, points, duration, blockDuration });
    this.authLimiter = limiter('gw-auth', a.points, a.perSeconds, a.blockSeconds);
    this.escalation = limiter('gw-auth-escalation', a.escalateAfterBlocks, 3600, a.escalatedBlockSeconds);
    infra.events.on('pool-password-changed', this.onPasswordChanged);
    infra.events.on('account-port-changed', this.onPortChanged);
    infra.events.on('account-changed', this.onAccountChanged);
  }

  private refresher: NodeJS.Timeout | undefined;

  /** Re-reads accounts with live tunnels, so changes made by other processes (usage, password) apply. */
  start(refreshMs: number): void {
    this.refresher = setInterval(() => void this.refresh().catch((err) => this.infra.logger.error({ err }, 'gateway refresh failed')), refreshMs);
    this.refresher.unref();
  }

  close(): void {
    clearInterval(this.refresher);
    this.infra.events.off('pool-password-changed', this.onPasswordChanged);
    this.infra.events.off('account-port-changed', this.onPortChanged);
    this.infra.events.off('account-changed', this.onAccountChanged);
  }

  async refresh(): Promise<void> {
    const now = this.infra.clock.now().getTime();
    for (const [key, { budget }] of this.budgets) await budget.maintain().catch((err) => this.infra.logger.warn({ err, budget: key }, 'gateway budget upkeep failed'));
    for (const state of this.accounts.values()) {
      if (state.leases.size === 0) continue;
      if (state.kind === 'aport' || state.kind === 'apool') {
        if (!(await this.refreshAccount(state))) { this.revokeAll(state); continue; }
      } else if (state.kind === 'pak') {
        const row = await this.pak?.row(state.id); // disable/regenerate/delete are cut by PakAccess itself
        if (!row) continue;
        if (row.traffic_cap_bytes !== null) state.totalBytes = BigInt(row.traffic_cap_bytes);
        state.usedBytes = BigInt(row.traffic_used_bytes);
        const t = await accountTraffic(this.infra, row.reseller_id, 'shared');
        if (!t || !t.account.is_active) { this.revokeAll(state); continue; }
        if (state.payer) this.payerSaw(state.payer, t);
      } else if (state.kind === 'pool') {
        const row = await findPoolAccount(this.infra.database.db, state.id);
        if (!row) continue;
        state.totalBytes = BigInt(row.traffic_bytes);
        state.usedBytes = BigInt(row.traffic_used_bytes);
        if (row.password_hash !== state.passwordHash) { state.passwordHash = row.password_hash; this.revokeAll(state); continue; }
      } else {
        const row = await findSession(this.infra.database.db, state.id);
        if (!row) continue;
        state.totalBytes = BigInt(row.traffic_bytes);
        state.usedBytes = BigInt(row.traffic_used_bytes);
        if (row.status !== 'active' || new Date(row.expires_at).getTime() <= now) { this.revokeAll(state); continue; }
      }
      if (this.remaining(state) <= 0n) this.revokeSpenders(state);
    }
  }

  async authenticate(request: AuthRequest): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure }> {
    if (this.coordination.graceExpired) return { ok: false, failure: { code: 'E_INTERNAL', message: 'shared gateway state (Redis) has been unavailable for too long; retry shortly' } };
    const blockedFor = await this.blockedSeconds(request.clientAddress);
    if (blockedFor > 0) return { ok: false, failure: { code: 'E_RATE_LIMITED_AUTH', message: `too many failed logins; retry in ${blockedFor} s` } };
    const resolved = await resolveCredential(this.infra, request.username, request.password, this.pak ? { access: this.pak, clientAddress: request.clientAddress } : undefined);
    if (!resolved.ok) {
      if (resolved.failure.code === 'E_AUTH_INVALID') await this.recordFailure(request.clientAddress);
      return resolved;
    }
    const credential = resolved.credential;
    const admitted = await this.admit(credential);
    // a pak_ key's audit counts the verdict, not the lookup: a refusal here is a failure with its reason
    if (credential.kind === 'pak') this.pak?.outcome(credential.key, request.clientAddress, admitted.ok ? null : admitted.reason);
    return admitted.ok ? admitted : { ok: false, failure: admitted.failure };
  }

  /** A resolved credential: its balance, its connection limit and (pak_) its reseller; `reason` names a refusal for the audit. */
  private async admit(credential: Credential): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure; reason: string }> {
    // a pak_ key spends its reseller's shared traffic too: none left, no new connection
    let payer: SharedBudget | undefined;
    if (credential.kind === 'pak') {
      const t = await accountTraffic(this.infra, credential.key.reseller_id, 'shared');
      if (!t || !t.account.is_active) return { ok: false, failure: { code: 'E_AUTH_INVALID', message: 'the reseller account behind this pool access key is deactivated' }, reason: 'reseller_deactivated' };
      if (t.totalBytes <= t.usedBytes) return { ok: false, failure: { code: 'E_AUTH_INVALID', message: RESELLER_TRAFFIC_SPENT }, reason: 'reseller_traffic_spent' };
      payer = this.budgetFor(accountBudgetKey(credential.key.reseller_id, 'shared'), t.totalBytes);
      this.payerSaw(payer, t);
    }
    const account = this.account(credential);
    account.payer = payer;
    if (this.remaining(account) <= 0n) {
      if (credential.kind === 'pak') { this.pak?.capReached(account.id, account.usedBytes + this.meter.unflushed(account.kind, account.id)); return { ok: false, failure: { code: 'E_CAP_EXCEEDED' }, reason: 'cap_exceeded' }; }
      return { ok: false, failure: { code: 'E_AUTH_INVALID', message: 'no traffic balance left; top up' }, reason: 'no_balance' };
    }
    if (!(await this.limits.acquireConnection(account.limitKey))) {
      return { ok: false, failure: { code: 'E_RATE_LIMITED_CONN', message: `over ${this.options.maxConnectionsPerAccount} concurrent connections` }, reason: 'connection_limit' };
    }
    // the first slice: a balance spent by other gateway instances (not yet in the read model) says no here
    account.budget.open();
    account.payer?.budget.open();
    if (!(await account.budget.refill())) {
      this.releaseConnection(account);
      if (credential.kind === 'pak') return { ok: false, failure: { code: 'E_CAP_EXCEEDED' }, reason: 'cap_exceeded' };
      return { ok: false, failure: { code: 'E_AUTH_INVALID', message: 'no traffic balance left; top up' }, reason: 'no_balance' };
    }
    if (account.payer && !(await account.payer.budget.refill())) {
      this.releaseConnection(account);
      return { ok: false, failure: { code: 'E_AUTH_INVALID', message: RESELLER_TRAFFIC_SPENT }, reason: 'reseller_traffic_spent' };
    }
    return { ok: true, lease: this.lease(account, credential) };
  }

  private releaseConnection(account: AccountState): void {
    const warn = (err: unknown) => this.infra.logger.warn({ err, account: account.key }, 'gateway account bookkeeping failed');
    void account.budget.close().catch(warn);
    void account.payer?.budget.close().catch(warn);
    void this.limits.releaseConnection(account.limitKey).catch(warn);
  }

  private lease(account: AccountState, credential: Credential): Lease {
    const controller = new AbortController();
    account.leases.add(controller);
    if (credential.kind === 'pak') this.pak?.register(credential, controller);
    // a pak connection without a sid is listed as a throwaway session of its own
    const autoSid = credential.kind === 'pak' && !credential.parsed.sid ? this.synthesized?.open(credential, controller) : undefined;
    // who pays, on the metered event: a pak_ key's reseller (its balance and usage count the bytes)
    const payer = account.payer;
    const payerId = credential.kind === 'pak' && payer ? credential.key.reseller_id : undefined;
    this.meter.add(account.kind, account.id, 0, 0, 1, payerId);
    const failed = new Set<string>();
    let ended = false;
    const brain = this;
    return {
      accountKey: account.key,
      revoked: controller.signal,
      budget: payer ? new BothBudgets(account.budget, payer.budget) : account.budget,
      async route(_target: Target) {
        const routed = await brain.router.route(account.key, credential, failed);
        if (routed.ok && credential.kind === 'pak') await brain.pak?.routed(credential, routed.upstream.deviceId);
        if (routed.ok && credential.kind === 'pak' && autoSid) await brain.synthesized?.routed(credential, autoSid, routed.upstream.deviceId);
        return routed;
      },
      upstreamFailed(upstream: Upstream) {
        failed.add(upstream.deviceId);
        brain.router.deviceFailed(upstream.deviceId);
      },
      meter(up: number, down: number) {
        brain.meter.add(account.kind, account.id, up, down, 0, payerId);
        if (credential.kind === 'pak') brain.pak?.sessionMeter(account.id, credential.parsed.sid, up, down);
        if (autoSid) brain.synthesized?.meter(account.id, autoSid, up, down);
        if (brain.remaining(account) <= 0n) {
          brain.revokeSpenders(account); // balance gone: close every tunnel that spends it
          if (credential.kind === 'pak') brain.pak?.capReached(account.id, account.usedBytes + brain.meter.unflushed(account.kind, account.id));
        }
      },
      end() {
        if (ended) return;
        ended = true;
        account.leases.delete(controller);
        if (credential.kind === 'pak') brain.pak?.unregister(account.id, controller);
        if (autoSid) brain.synthesized?.end(account.id, autoSid);
        brain.releaseConnection(account);
      },
    };
  }

  private account(credential: Credential): AccountState {
    const kind: AccountKind = credential.kind === 'port' ? 'session' : credential.kind;
    const id = credential.kind === 'port' ? credential.session.session_id : credential.kind === 'pak' ? credential.key.key_id : credential.kind === 'aport' ? credential.port.port_id : credential.kind === 'apool' ? credential.accountId : credential.account.account_id;
    const key = `${kind}-${id}`;
    let state = this.accounts.get(key);
    if (!state) {
      const shared = this.budgetFor(credential.kind === 'aport' || credential.kind === 'apool' ? budgetKeyOf(credential) : key, credential.totalBytes);
      const limitKey = credential.kind === 'aport' || credential.kind === 'apool' ? `account-${credential.accountId}` : key;
      state = { key, limitKey, kind, id, totalBytes: 0n, usedBytes: 0n, leases: new Set(), passwordHash: null, budget: shared.budget, spenders: shared.spenders, payer: undefined };
      shared.spenders.add(state);
    }
    // the read model is the truth for what was flushed; unflushed bytes are added in remaining()
    state.totalBytes = credential.totalBytes;
    state.usedBytes = credential.usedBytes;
    if (credential.kind === 'pool') state.passwordHash = credential.account.password_hash;
    if (credential.kind === 'aport') state.passwordHash = credential.port.password_hash;
    if (credential.kind === 'apool') state.passwordHash = credential.passwordHash;
    this.accounts.set(`${kind}-${id}`, state);
    return state;
  }

  /** One budget per budget key: x402 sessions, pool accounts and pak_ keys have their own; an account's traffic pool is shared. */
  private budgetFor(budgetKey: string, totalBytes: bigint): SharedBudget {
    let shared = this.budgets.get(budgetKey);
    if (shared) return shared;
    const spenders = new Set<AccountState>();
    const payerRead: Balance = { totalBytes: 0n, usedBytes: 0n };
    const budget = new AccountBudget(budgetKey, this.ledger, () => freshestBalance([...spenders, payerRead]), {
      sliceBytes: sliceFor(totalBytes), idleReturnMs: this.options.budgetIdleReturnMs,
      now: () => this.infra.clock.now().getTime(), onError: (err) => this.infra.logger.warn({ err, budget: budgetKey }, 'gateway budget lease failed'),
    });
    shared = { budget, spenders, payerRead };
    this.budgets.set(budgetKey, shared);
    return shared;
  }

  /** A read of the reseller's traffic for its pak_ keys (bought and used only grow: keep the largest). */
  private payerSaw(payer: SharedBudget, read: Balance): void {
    const { totalBytes, usedBytes } = freshestBalance([payer.payerRead, read]);
    payer.payerRead.totalBytes = totalBytes;
    payer.payerRead.usedBytes = usedBytes;
  }

  /** What is left of the balance the account spends: read model minus what this instance has not flushed, over every spender. */
  private remaining(account: AccountState): bigint {
    const { totalBytes, usedBytes } = freshestBalance(account.spenders);
    let unflushed = 0n;
    for (const s of account.spenders) unflushed += this.meter.unflushed(s.kind, s.id);
    return totalBytes - usedBytes - unflushed;
  }

  private revokeSpenders(account: AccountState): void {
    for (const s of account.spenders) this.revokeAll(s);
  }

  private revokeAll(account: AccountState): void {
    for (const controller of account.leases) controller.abort(new Error('revoked'));
  }

  /** Account ports and account pool access: balance from the account, and the password still the one that opened the tunnels. */
  private async refreshAccount(state: AccountState): Promise<boolean> {
    if (state.kind === 'aport') {
      const port = await findAccountPort(this.infra.database.db, state.id);
      if (!port || port.status !== 'active' || port.password_hash !== state.passwordHash || new Date(port.expires_at) <= this.infra.clock.now()) return false;
      // suspended: its slot subscription lapsed (or the account is inactive) while the tunnel was open
      if ((await suspendedPortIds(this.infra.database.db, port.account_id, this.infra.clock.now())).has(port.port_id)) return false;
      const t = await accountTraffic(this.infra, port.account_id, port.slot_type);
      if (!t || !t.account.is_active) return false;
      state.totalBytes = t.totalBytes;
      state.usedBytes = t.usedBytes;
      return true;
    }
    const t = await accountTraffic(this.infra, state.id, 'shared');
    if (!t || !t.account.is_active || t.account.pool_password_hash !== state.passwordHash) return false;
    state.totalBytes = t.totalBytes;
    state.usedBytes = t.usedBytes;
    return true;
  }

  /** Every account key of the account on this instance (its ports and pool password spend its two budgets). */
  private async recheckAccount(accountId: string): Promise<void> {
    for (const slot of ['shared', 'private'] as const) {
      for (const state of this.budgets.get(accountBudgetKey(accountId, slot))?.spenders ?? []) {
        if (state.leases.size > 0 && !(await this.refreshAccount(state))) this.revokeAll(state);
      }
    }
    // and the pak_ keys it resells: they spend its shared traffic (one read of it for all of them)
    const shared = this.budgets.get(accountBudgetKey(accountId, 'shared'));
    const resold = [...this.accounts.values()].filter((state) => shared !== undefined && state.payer === shared && state.leases.size > 0);
    if (resold.length === 0) return;
    const t = await accountTraffic(this.infra, accountId, 'shared');
    if (!t || !t.account.is_active) for (const state of resold) this.revokeAll(state);
  }

  /** Regenerated password: tunnels opened with the old one close now. */
  private async recheckPassword(accountId: string): Promise<void> {
    const own = this.accounts.get(`apool-${accountId}`);
    if (own && !(await this.refreshAccount(own))) this.revokeAll(own);
    const state = this.accounts.get(`pool-${accountId}`);
    if (!state) return;
    const row = await findPoolAccount(this.infra.database.db, accountId);
    if (row && row.password_hash !== state.passwordHash) {
      state.passwordHash = row.password_hash;
      this.revokeAll(state);
    }
  }

  private async blockedSeconds(address: string): Promise<number> {
    const [a, b] = await Promise.all([this.authLimiter.get(address), this.escalation.get(address)]);
    const blocked = (res: Awaited<ReturnType<RateLimiterAbstract['get']>>, points: number) =>
      res && res.consumedPoints > points ? Math.ceil(res.msBeforeNext / 1000) : 0;
    return Math.max(blocked(a, this.options.authFailures.points), blocked(b, this.options.authFailures.escalateAfterBlocks));
  }

  private async recordFailure(address: string): Promise<void> {
    try {
      await this.authLimiter.consume(address);
    } catch {
      // this failure tipped it into a block: count the block toward the 5-minute escalation
      await this.escalation.consume(address).catch(() => {});
    }
  }
}
