import type { GatewayFailure, Upstream } from '../../adapters/gateway/brain.ts';
import type { PeerPool } from '../peers/peer-pool.ts';
import { MemoryKeyValue } from '../../adapters/cache/memory.ts';
import { DEFAULT_ROTATION_POLICY, decideRotation, type SessionRecord } from '../../domain/gateway/rotation.ts';
import type { ParsedUsername } from '../../domain/gateway/username.ts';
import { findDevice } from '../../projections/devices.ts';
import { openUpstream } from '../fleet/secrets.ts';
import type { Infrastructure } from '../infrastructure.ts';
import type { GatewayCoordination } from './coordination.ts';
import type { Credential } from './credentials.ts';
import type { AccountLimits } from './limits.ts';

const FAILED_DEVICE_AVOID_MS = 60_000;

/** A modem the pool may use, best first (the pool-score read model). */
export interface RankedDevice {
  deviceId: string;
  countryCode: string;
  upstream: string;
}
export type DeviceRanker = (query: { countryCode: string | 'any'; carrier?: string | undefined; exclude: string[] }) => Promise<RankedDevice[]>;

type Routed = { ok: true; upstream: Upstream } | { ok: false; failure: GatewayFailure };

/**
 * Target → modem: a dedicated port goes to its own device; the pool is ranked by score with sticky
 * sid records in the KeyValue store (Redis, or in-process while Redis is out) decided by
 * `decideRotation`; modems that just failed are avoided by every connection for a minute.
 */
export class Router {
  /** Devices whose tunnel just failed (the seed's "retry picks another"). */
  private readonly failedDevices = new Map<string, number>();
  /** Sticky records while shared state is unavailable. */
  private readonly localSticky: MemoryKeyValue;

  constructor(
    private readonly infra: Infrastructure,
    private readonly rank: DeviceRanker,
    private readonly coordination: GatewayCoordination,
    private readonly limits: AccountLimits,
    private readonly maxSessions: number,
    /** The `peer` pool and the peer half of `any`. */
    private readonly peers?: PeerPool,
  ) {
    this.localSticky = new MemoryKeyValue(infra.clock);
  }

  deviceFailed(deviceId: string): void {
    this.failedDevices.set(deviceId, this.infra.clock.now().getTime() + FAILED_DEVICE_AVOID_MS);
  }

  async route(accountKey: string, credential: Credential, failed: Set<string>): Promise<Routed> {
    if (credential.kind === 'aport') return this.routeDevice(credential.port.device_id, failed, "this port's modem is offline; rotate or reconfigure the port");
    if (credential.kind === 'apool') return this.routePool(accountKey, credential.accountId, credential.parsed, failed);
    return credential.kind === 'port' ? this.routePort(credential, failed) : this.routePool(accountKey, credential.kind === 'pak' ? credential.key.key_id : credential.account.account_id, credential.parsed, failed);
  }

  private recentlyFailed(): string[] {
    const now = this.infra.clock.now().getTime();
    for (const [id, until] of this.failedDevices) if (until <= now) this.failedDevices.delete(id);
    return [...this.failedDevices.keys()];
  }

  private stickyGet(key: string): Promise<string | null> {
    return this.coordination.run(() => this.infra.kv.get(key), () => this.localSticky.get(key));
  }

  private async stickySet(key: string, value: string, ttlMs: number): Promise<void> {
    await this.coordination.run(() => this.infra.kv.set(key, value, { ttlMs }), () => this.localSticky.set(key, value, { ttlMs }));
  }

  private async routeDevice(deviceId: string, failed: Set<string>, offline: string): Promise<Routed> {
    const device = await findDevice(this.infra.database.db, deviceId);
    if (!device || device.status !== 'active' || !device.online || failed.has(device.device_id)) return { ok: false, failure: { code: 'E_STOCK_DEGRADED', message: offline } };
    return { ok: true, upstream: { deviceId: device.device_id, url: openUpstream(this.infra.secrets, device.upstream) } };
  }

  private async routePort(credential: Extract<Credential, { kind: 'port' }>, failed: Set<string>): Promise<Routed> {
    const device = await findDevice(this.infra.database.db, credential.port.device_id);
    if (!device || device.status !== 'active' || !device.online || failed.has(device.device_id)) {
      return { ok: false, failure: { code: 'E_STOCK_DEGRADED', message: "this port's modem is offline; replace it with POST /v1/x402/manage/ports/replace" } };
    }
    return { ok: true, upstream: { deviceId: device.device_id, url: openUpstream(this.infra.secrets, device.upstream) } };
  }

  private async routePool(accountKey: string, accountId: string, parsed: ParsedUsername, failed: Set<string>): Promise<Routed> {
    if (parsed.pool === 'peer' || parsed.pool === 'any') {
      const pc = parsed.country === 'any' ? 'any' : parsed.country.toUpperCase();
      const choice = this.peers
        ? await this.peers.choose(parsed.pool, pc, [...new Set([...failed, ...this.recentlyFailed()])], (q) => this.rank(q),
          parsed.sid ? { key: `peer-sticky:${accountId}:${parsed.sid}`, ttlMs: (parsed.ttlSeconds ?? DEFAULT_ROTATION_POLICY.defaultTtlSeconds) * 1000 } : undefined)
        : { kind: parsed.pool === 'peer' ? ('none' as const) : ('modem' as const) };
      if (choice.kind === 'peer') return { ok: true, upstream: choice.upstream };
      if (choice.kind === 'none') return { ok: false, failure: { code: 'E_NO_STOCK_COUNTRY', message: `no online peer for peer-${parsed.country}; retry in 60s or use -mbl-` } };
    }
    const now = this.infra.clock.now().getTime();
    const key = `sticky:${accountId}:${parsed.sid ?? ''}`;
    const stored = parsed.sid ? await this.stickyGet(key) : null;
    const existing = stored ? (JSON.parse(stored) as SessionRecord) : undefined;
    // a new sid counts against the account's sessions (across instances) until its TTL runs out
    if (parsed.sid && !existing && !(await this.limits.reserveSid(accountKey, parsed.sid, (parsed.ttlSeconds ?? 3600) * 1000))) {
      return { ok: false, failure: { code: 'E_SESSION_LIMIT', message: `${this.maxSessions} sessions max per account; recycle -sid- tokens or wait for their TTL` } };
    }
    const decision = decideRotation({ rotation: parsed.rotation, sid: parsed.sid, ttlSeconds: parsed.ttlSeconds, now, existing });
    const country = parsed.country === 'any' ? 'any' : parsed.country.toUpperCase();
    if (decision.kind === 'keep' && !failed.has(decision.deviceId) && !this.failedDevices.has(decision.deviceId)) {
      const device = await findDevice(this.infra.database.db, decision.deviceId);
      if (device && device.status === 'active' && device.online) {
        await this.stickySet(key, JSON.stringify(decision.record), decision.expiresAt - now);
        return { ok: true, upstream: { deviceId: device.device_id, url: openUpstream(this.infra.secrets, device.upstream) } };
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
      const [best] = await this.rank({ countryCode: country, carrier: t.carrier, exclude: t.exclude });
      if (!best) continue;
      if (parsed.sid) {
        const record: SessionRecord = { deviceId: best.deviceId, pinnedAt: now, lastUsed: now };
        await this.stickySet(key, JSON.stringify(record), Math.max(1, decision.expiresAt - now));
      }
      return { ok: true, upstream: { deviceId: best.deviceId, url: openUpstream(this.infra.secrets, best.upstream) } };
    }
    // nothing usable: either the country has no modem at all, or every one of them just failed
    const exists = (await this.rank({ countryCode: country, exclude: [] })).length > 0;
    const alternatives = country === 'any' ? [] : (await this.rank({ countryCode: 'any', exclude })).map((d) => d.countryCode).filter((c) => c !== country);
    const suggestion = alternatives[0] ? `try -${alternatives[0].toLowerCase()}- or retry in 60s` : 'retry in 60s';
    return exists
      ? { ok: false, failure: { code: 'E_STOCK_DEGRADED', message: `the modems for mbl-${parsed.country} just failed; ${suggestion}` } }
      : { ok: false, failure: { code: 'E_NO_STOCK_COUNTRY', message: `no online modem for mbl-${parsed.country}; ${suggestion}` } };
  }
}
