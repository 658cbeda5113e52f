import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AuthRequest, GatewayBrain, GatewayFailure, Lease, Target, Upstream } from '../../adapters/gateway/brain.ts';
import { decideRotation, type SessionRecord } from '../../domain/gateway/rotation.ts';
import type { ParsedUsername } from '../../domain/gateway/username.ts';
import type { AccountKind } from '../../domain/traffic/metered.ts';
import { findDevice } from '../../projections/devices.ts';
import { findPoolAccount } from '../../projections/pool-accounts.ts';
import { findSession } from '../../projections/sessions.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { resolveCredential, type Credential } from './credentials.ts';
import type { TrafficMeter } from './meter.ts';
import type { PeerPool } from '../peers/peer-pool.ts';
import { AccountBudget, MemoryBudgetLedger, sliceFor, type BudgetLedger } from './budget.ts';

const FAILED_DEVICE_AVOID_MS = 60_000;

/** A modem the pool may use, best first (the pool-score read model). */
export interface RankedDevice {
  deviceId: string;
  countryCode: string;
  upstream: string;
}
export type DeviceRanker = (query: { countryCode: string | 'any'; carrier?: string | undefined; exclude: string[] }) => Promise<RankedDevice[]>;

export interface BrainOptions {
  rank: DeviceRanker;
  /** The `peer` pool and the peer half of `any` (src/peers/peer-pool.ts); without it `peer` has no capacity. */
  peers?: PeerPool | undefined;
  /** Makes the auth back-off shared by every gateway instance (rate-limiter-flexible's Redis store); in-process when absent. */
  limiterStore?: { redis: unknown } | undefined;
  /** Where slices of each account's balance are leased: Redis (shared by every instance) or in-process. */
  ledger?: BudgetLedger | undefined;
  /** A leased slice unused this long goes back to the ledger. */
  budgetIdleReturnMs?: number;
  maxConnectionsPerAccount?: number;
  maxSessionsPerAccount?: number;
  /** Auth failures before a client address is blocked for 30 s; repeated blocks escalate to 5 min. */
  authFailures?: { points: number; perSeconds: number; blockSeconds: number; escalateAfterBlocks: number; escalatedBlockSeconds: number };
}

interface AccountState {
  kind: AccountKind;
  id: string;
  totalBytes: bigint;
  usedBytes: bigint;
  leases: Set<AbortController>;
  passwordHash: string | null;
  budget: AccountBudget;
}

/**
 * The gateway's brain: credentials → account, balance and limits; target → modem (dedicated port's
 * device, or the pool ranked by score with sticky sid sessions in the KeyValue store); bytes → meter.
 */
export class MarketplaceBrain implements GatewayBrain {
  private readonly accounts = new Map<string, AccountState>();
  private readonly sids = new Map<string, Map<string, number>>(); // account → sid → expires (ms)
  /** Devices whose tunnel just failed, avoided by every connection for a minute (the seed's "retry picks another"). */
  private readonly failedDevices = new Map<string, number>();
  private readonly authLimiter: RateLimiterAbstract;
  private readonly escalation: RateLimiterAbstract;
  private readonly options: Required<Omit<BrainOptions, 'limiterStore' | 'ledger' | 'peers'>> & Pick<BrainOptions, 'peers'>;
  private readonly ledger: BudgetLedger;
  private readonly onPasswordChanged = (accountId: string) => void this.recheckPassword(accountId);

  constructor(private readonly infra: Infrastructure, private readonly meter: TrafficMeter, options: BrainOptions) {
    const { limiterStore: _store, ledger, ...rest } = options;
    this.ledger = ledger ?? new MemoryBudgetLedger(() => infra.clock.now().getTime());
    this.options = {
      budgetIdleReturnMs: 30_000,
      maxConnectionsPerAccount: 100,
      maxSessionsPerAccount: 50,
      authFailures: { points: 5, perSeconds: 30, blockSeconds: 30, escalateAfterBlocks: 3, escalatedBlockSeconds: 300 },
      ...rest,
    };
    const a = this.options.authFailures;
    const limiter = (keyPrefix: string, points: number, duration: number, blockDuration: number): RateLimiterAbstract =>
      options.limiterStore
        ? new RateLimiterRedis({ storeClient: options.limiterStore.redis, keyPrefix, points, duration, blockDuration })
        : new RateLimiterMemory({ keyPrefix, points, duration, blockDuration });
    this.authLimiter = limiter('gw-auth', a.points, a.perSeconds, a.blockSeconds);
    this.escalation = limiter('gw-auth-escalation', a.escalateAfterBlocks, 3600, a.escalatedBlockSeconds);
    infra.events.on('pool-password-changed', this.onPasswordChanged);
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
  }

  async refresh(): Promise<void> {
    const now = this.infra.clock.now().getTime();
    for (const state of this.accounts.values()) {
      await state.budget.maintain().catch((err) => this.infra.logger.warn({ err, account: state.id }, 'gateway budget upkeep failed'));
      if (state.leases.size === 0) continue;
      if (state.kind === 'pool') {
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
      if (this.remaining(state) <= 0n) this.revokeAll(state);
    }
  }

  async authenticate(request: AuthRequest): Promise<{ ok: true; lease: Lease } | { ok: false; failure: GatewayFailure }> {
    const blockedFor = await this.blockedSeconds(request.clientAddress);
    if (blockedFor > 0) return { ok: false, failure: { code: 'E_RATE_LIMITED_AUTH', message: `too many failed logins; retry in ${blockedFor} s` } };
    const resolved = await resolveCredential(this.infra, request.username, request.password);
    if (!resolved.ok) {
      if (resolved.failure.code === 'E_AUTH_INVALID') await this.recordFailure(request.clientAddress);
      return resolved;
    }
    const credential = resolved.credential;
    const account = this.account(credential);
    if (this.remaining(account) <= 0n) return { ok: false, failure: { code: 'E_AUTH_INVALID', message: 'no traffic balance left; top up' } };
    if (account.leases.size >= this.options.maxConnectionsPerAccount) {
      return { ok: false, failure: { code: 'E_RATE_LIMITED_CONN', message: `over ${this.options.maxConnectionsPerAccount} concurrent connections` } };
    }
    // the first slice: a balance spent by other gateway instances (not yet in the read model) says no here
    account.budget.open();
    if (!(await account.budget.refill())) {
      void account.budget.close();
      return { ok: false, failure: { code: 'E_AUTH_INVALID', message: 'no traffic balance left; top up' } };
    }
    return { ok: true, lease: this.lease(account, credential) };
  }

  private lease(account: AccountState, credential: Credential): Lease {
    const controller = new AbortController();
    account.leases.add(controller);
    this.meter.add(account.kind, account.id, 0, 0, 1);
    const failed = new Set<string>();
    let ended = false;
    const brain = this;
    return {
      accountKey: `${account.kind}-${account.id}`,
      revoked: controller.signal,
      budget: account.budget,
      async route(target: Target) {
        return credential.kind === 'port' ? brain.routePort(credential, failed) : brain.routePool(account, credential.parsed, target, failed);
      },
      upstreamFailed(upstream: Upstream) {
        failed.add(upstream.deviceId);
        brain.failedDevices.set(upstream.deviceId, brain.infra.clock.now().getTime() + FAILED_DEVICE_AVOID_MS);
      },
      meter(up: number, down: number) {
        brain.meter.add(account.kind, account.id, up, down);
        if (brain.remaining(account) <= 0n) brain.revokeAll(account); // balance gone: close every tunnel of it
      },
      end() {
        if (ended) return;
        ended = true;
        account.leases.delete(controller);
        void account.budget.close().catch((err) => brain.infra.logger.warn({ err, account: account.id }, 'gateway budget give-back failed'));
      },
    };
  }

  private recentlyFailed(): string[] {
    const now = this.infra.clock.now().getTime();
    for (const [id, until] of this.failedDevices) if (until <= now) this.failedDevices.delete(id);
    return [...this.failedDevices.keys()];
  }

  private async routePort(credential: Extract<Credential, { kind: 'port' }>, failed: Set<string>) {
    const device = await findDevice(this.infra.database.db, credential.port.device_id);
    if (!device || device.status !== 'active' || !device.online || failed.has(device.device_id)) {
      return { ok: false as const, failure: { code: 'E_STOCK_DEGRADED' as const, message: "this port's modem is offline; replace it with POST /v1/x402/manage/ports/replace" } };
    }
    return { ok: true as const, upstream: { deviceId: device.device_id, url: device.upstream } };
  }

  private async routePool(account: AccountState, parsed: ParsedUsername, _target: Target, failed: Set<string>) {
    if (parsed.pool === 'peer' || parsed.pool === 'any') {
      const pc = parsed.country === 'any' ? 'any' : parsed.country.toUpperCase();
      const choice = this.options.peers
        ? await this.options.peers.choose(parsed.pool, pc, [...new Set([...failed, ...this.recentlyFailed()])], (q) => this.options.rank(q))
        : { kind: parsed.pool === 'peer' ? ('none' as const) : ('modem' as const) };
      if (choice.kind === 'peer') return { ok: true as const, upstream: choice.upstream };
      if (choice.kind === 'none') return { ok: false as const, failure: { code: 'E_NO_STOCK_COUNTRY' as const, message: `no online peer for peer-${parsed.country}; retry in 60s or use -mbl-` } };
    }
    const now = this.infra.clock.now().getTime();
    const key = `sticky:${account.id}:${parsed.sid ?? ''}`;
    const stored = parsed.sid ? await this.infra.kv.get(key) : null;
    const existing = stored ? (JSON.parse(stored) as SessionRecord) : undefined;
    if (parsed.sid && !existing && !this.reserveSid(account.id, parsed.sid, now, (parsed.ttlSeconds ?? 3600) * 1000)) {
      return { ok: false as const, failure: { code: 'E_SESSION_LIMIT' as const, message: `${this.options.maxSessionsPerAccount} sessions max per account; recycle -sid- tokens or wait for their TTL` } };
    }
    const decision = decideRotation({ rotation: parsed.rotation, sid: parsed.sid, ttlSeconds: parsed.ttlSeconds, now, existing });
    const country = parsed.country === 'any' ? 'any' : parsed.country.toUpperCase();
    if (decision.kind === 'keep' && !failed.has(decision.deviceId) && !this.failedDevices.has(decision.deviceId)) {
      const device = await findDevice(this.infra.database.db, decision.deviceId);
      if (device && device.status === 'active' && device.online) {
        await this.infra.kv.set(key, JSON.stringify(decision.record), { ttlMs: decision.expiresAt - now });
        return { ok: true as const, upstream: { deviceId: device.device_id, url: device.upstream } };
      }
    }
    const avoid = decision.kind === 'pick' && decision.avoidDeviceId ? [decision.avoidDeviceId] : [];
    const exclude = [...new Set([...failed, ...this.recentlyFailed()])];
    // carrier and city are soft: prefer matches, fall back to the whole country; avoiding the last device too
    const tries = [
      { carrier: parsed.carrier, exclude: [...exclude, ...avoid] },
      { carrier: undefined, exclude: [...exclude, ...avoid] },
      { carrier: undefined, exclude },
    ];
    for (const t of tries) {
      const [best] = await this.options.rank({ countryCode: country, carrier: t.carrier, exclude: t.exclude });
      if (!best) continue;
      if (parsed.sid) {
        const record: SessionRecord = { deviceId: best.deviceId, pinnedAt: now, lastUsed: now };
        await this.infra.kv.set(key, JSON.stringify(record), { ttlMs: Math.max(1, decision.expiresAt - now) });
      }
      return { ok: true as const, upstream: { deviceId: best.deviceId, url: best.upstream } };
    }
    // nothing usable: either the country has no modem at all, or every one of them just failed
    const exists = (await this.options.rank({ countryCode: country, exclude: [] })).length > 0;
    const alternatives = country === 'any' ? [] : (await this.options.rank({ countryCode: 'any', exclude })).map((d) => d.countryCode).filter((c) => c !== country);
    const suggestion = alternatives[0] ? `try -${alternatives[0].toLowerCase()}- or retry in 60s` : 'retry in 60s';
    return exists
      ? { ok: false as const, failure: { code: 'E_STOCK_DEGRADED' as const, message: `the modems for mbl-${parsed.country} just failed; ${suggestion}` } }
      : { ok: false as const, failure: { code: 'E_NO_STOCK_COUNTRY' as const, message: `no online modem for mbl-${parsed.country}; ${suggestion}` } };
  }

  /** A new sid counts against the account's 50 sessions until its TTL runs out. */
  private reserveSid(accountId: string, sid: string, now: number, ttlMs: number): boolean {
    const sids = this.sids.get(accountId) ?? new Map<string, number>();
    for (const [s, expires] of sids) if (expires <= now) sids.delete(s);
    if (!sids.has(sid) && sids.size >= this.options.maxSessionsPerAccount) return false;
    sids.set(sid, now + ttlMs);
    this.sids.set(accountId, sids);
    return true;
  }

  private account(credential: Credential): AccountState {
    const kind: AccountKind = credential.kind === 'port' ? 'session' : 'pool';
    const id = credential.kind === 'port' ? credential.session.session_id : credential.account.account_id;
    const key = `${kind}-${id}`;
    let state = this.accounts.get(key);
    if (!state) {
      const created: AccountState = { kind, id, totalBytes: 0n, usedBytes: 0n, leases: new Set(), passwordHash: null, budget: undefined as unknown as AccountBudget };
      created.budget = new AccountBudget(key, this.ledger, () => ({ totalBytes: created.totalBytes, usedBytes: created.usedBytes }), {
        sliceBytes: sliceFor(credential.totalBytes), idleReturnMs: this.options.budgetIdleReturnMs,
        now: () => this.infra.clock.now().getTime(), onError: (err) => this.infra.logger.warn({ err, account: id }, 'gateway budget lease failed'),
      });
      state = created;
    }
    // the read model is the truth for what was flushed; unflushed bytes are added in remaining()
    state.totalBytes = credential.totalBytes;
    state.usedBytes = credential.usedBytes;
    if (credential.kind === 'pool') state.passwordHash = credential.account.password_hash;
    this.accounts.set(`${kind}-${id}`, state);
    return state;
  }

  private remaining(account: AccountState): bigint {
    return account.totalBytes - account.usedBytes - this.meter.unflushed(account.kind, account.id);
  }

  private revokeAll(account: AccountState): void {
    for (const controller of account.leases) controller.abort(new Error('revoked'));
  }

  /** Regenerated password: tunnels opened with the old one close now. */
  private async recheckPassword(accountId: string): Promise<void> {
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
