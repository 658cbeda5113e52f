import type { GatewayFailure } from '../../adapters/gateway/brain.ts';
import type { ParsedUsername } from '../../domain/gateway/username.ts';
import { poolKeyAuthStreamId, type PoolKeyGatewayAuthRecorded } from '../../domain/reseller/events.ts';
import { findDevice } from '../../projections/devices.ts';
import { findPoolKey, findPoolKeyByHash, type PoolKeyRow } from '../../projections/pool-keys.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { POOL_KEY_CHANGED, suspendPoolKey } from '../reseller/keys.ts';
import { sha256Hex } from '../x402/secrets.ts';

/**
 * The gateway side of a reseller's pool-access keys: `psx_<resellerId>-…` with a `pak_` password.
 * Looks keys up by hash (cached ≤ GATEWAY_PAK_CACHE_MS), rewrites peer/any to mbl for `safe` keys,
 * tells E_CAP_EXCEEDED from disabled/expired, keeps the live tunnels of every key so that disable,
 * regenerate, delete and suspension cut them at once (in-process signal; every few seconds a re-read
 * catches changes made by other processes), sums auth outcomes per key per minute for the audit log,
 * and keeps the live sticky sessions a reseller lists and closes (my-sessions).
 */
export const UNCAPPED_BYTES = 1n << 62n;
/** In-process signal from the API: close the tunnels of one sticky session. */
export const PAK_SESSION_CLOSED = 'pak-session-closed';

export type PakCredential = { kind: 'pak'; key: PoolKeyRow; parsed: ParsedUsername; totalBytes: bigint; usedBytes: bigint };

export interface PakSessionRecord {
  sessionKey: string;
  pakKeyId: string;
  resellerId: string;
  sessionId: string;
  pool: string;
  country: string;
  carrier: string;
  deviceId: string;
  currentIp: string;
  createdAt: number;
  lastActivityAt: number;
  expiresAt: number;
  requestCount: number;
  bytesIn: number;
  bytesOut: number;
  rotation: string;
  username: string;
}

export const pakSessionKv = (keyId: string, sid: string) => `paksession:${keyId}:${sid}`;
export const pakSessionIndexKv = (keyId: string) => `paksessions:${keyId}`;
export const pakStickyKv = (keyId: string, sid: string) => `sticky:${keyId}:${sid}`;

interface AuthTally { resellerId: string; successes: number; failures: number; lastIp: string | null; reason: string | null; usedBytes: string | null; capBytes: string | null }

const usable = (row: PoolKeyRow, now: number): string | null => {
  if (!row.enabled) return row.suspended_reason === 'expired' ? 'this pool access key expired' : 'this pool access key is disabled';
  if (row.expires_at && new Date(row.expires_at).getTime() <= now) return `this pool access key expired at ${new Date(row.expires_at).toISOString()}`;
  return null;
};

export class PakAccess {
  private readonly cache = new Map<string, { row: PoolKeyRow; at: number }>();
  /** keyId → live tunnels (controller → sid) with the key hash they were opened with. */
  private readonly live = new Map<string, { hash: string; leases: Map<AbortController, string | null> }>();
  private readonly tallies = new Map<string, AuthTally>();
  private readonly sessionBytes = new Map<string, { up: number; down: number }>();
  private readonly suspending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onChanged = (keyId: string) => void this.recheck(keyId).catch((err) => this.infra.logger.warn({ err, keyId }, 'pak recheck failed'));
  private readonly onSessionClosed = ({ keyId, sid }: { keyId: string; sid: string }) => this.cutSession(keyId, sid);

  constructor(private readonly infra: Infrastructure, private readonly gatewayId: string) {
    infra.events.on(POOL_KEY_CHANGED, this.onChanged);
    infra.events.on(PAK_SESSION_CLOSED, this.onSessionClosed);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick().catch((err) => this.infra.logger.error({ err }, 'pak upkeep failed')), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.infra.events.off(POOL_KEY_CHANGED, this.onChanged);
    this.infra.events.off(PAK_SESSION_CLOSED, this.onSessionClosed);
    await this.flush();
  }

  async resolve(parsed: ParsedUsername, password: string, clientAddress: string): Promise<{ ok: true; credential: PakCredential } | { ok: false; failure: GatewayFailure }> {
    const now = this.infra.clock.now().getTime();
    const hash = sha256Hex(password);
    const cached = this.cache.get(hash);
    let row = cached && now - cached.at < this.infra.config.GATEWAY_PAK_CACHE_MS ? cached.row : undefined;
    if (!row) {
      row = await findPoolKeyByHash(this.infra.database.db, hash);
      if (row) this.cache.set(hash, { row, at: now });
    }
    if (!row) return { ok: false, failure: { code: 'E_AUTH_INVALID', message: 'bad credentials' } };
    const fail = (code: 'E_AUTH_INVALID' | 'E_CAP_EXCEEDED', message: string, reason: string) => {
      this.tally(row, clientAddress, reason);
      return { ok: false as const, failure: { code, message } };
    };
    if (row.reseller_id !== parsed.account) return fail('E_AUTH_INVALID', `this pool access key belongs to another username; use psx_${row.reseller_id}`, 'username_mismatch');
    const used = BigInt(row.traffic_used_bytes);
    const cap = row.traffic_cap_bytes === null ? null : BigInt(row.traffic_cap_bytes);
    // suspended at the cap by a gateway whose last bytes the read model may not show yet: still the cap
    if ((cap !== null && used >= cap) || (!row.enabled && row.suspended_reason === 'cap_exceeded')) return fail('E_CAP_EXCEEDED', `this pool access key used its ${Number(cap ?? 0n) / 1e9} GB cap; ask your provider to top it up`, 'cap_exceeded');
    const unusable = usable(row, now);
    if (unusable) return fail('E_AUTH_INVALID', unusable, row.enabled ? 'expired' : (row.suspended_reason ?? 'disabled'));
    // no success tally yet: the brain may still refuse (the reseller's traffic, its account, the in-flight cap)
    // a safe (Private Pool) key only ever reaches the production modems
    const routed: ParsedUsername = row.quality_tier === 'safe' && parsed.pool !== 'mbl' ? { ...parsed, pool: 'mbl' } : parsed;
    return { ok: true, credential: { kind: 'pak', key: row, parsed: routed, totalBytes: cap ?? UNCAPPED_BYTES, usedBytes: used } };
  }

  /** A tunnel opened with this key; it is aborted when the key stops being usable. */
  register(credential: PakCredential, controller: AbortController): void {
    const entry = this.live.get(credential.key.key_id) ?? { hash: credential.key.key_hash, leases: new Map() };
    entry.leases.set(controller, credential.parsed.sid ?? null);
    this.live.set(credential.key.key_id, entry);
  }

  unregister(keyId: string, controller: AbortController): void {
    const entry = this.live.get(keyId);
    entry?.leases.delete(controller);
    if (entry && entry.leases.size === 0) this.live.delete(keyId);
  }

  /** The key's read-model row now (for balances), or undefined when it is gone. */
  row(keyId: string): Promise<PoolKeyRow | undefined> {
    return findPoolKey(this.infra.database.db, keyId);
  }

  /** The brain cut the key at its cap: suspend it (once) so the reseller sees it in the audit log. */
  capReached(keyId: string, usedBytes: bigint): void {
    if (this.suspending.has(keyId)) return; // every chunk after the cut would ask again
    this.suspending.add(keyId);
    void suspendPoolKey(this.infra, keyId, 'cap_exceeded', usedBytes)
      .catch((err) => this.infra.logger.warn({ err, keyId }, 'pak suspend failed'))
      .finally(() => setTimeout(() => this.suspending.delete(keyId), 1000).unref());
  }

  /** A pak tunnel was routed: the sticky session record a reseller lists. */
  async routed(credential: PakCredential, deviceId: string): Promise<void> {
    const sid = credential.parsed.sid;
    if (!sid) return;
    const now = this.infra.clock.now().getTime();
    const kv = this.infra.kv;
    const key = pakSessionKv(credential.key.key_id, sid);
    const ttlMs = (credential.parsed.ttlSeconds ?? 3600) * 1000;
    const device = await findDevice(this.infra.database.db, deviceId);
    const stored = await kv.get(key);
    const prev = stored ? (JSON.parse(stored) as PakSessionRecord) : undefined;
    const record: PakSessionRecord = {
      sessionKey: `${credential.key.key_id}:${sid}`, pakKeyId: credential.key.key_id, resellerId: credential.key.reseller_id, sessionId: sid,
      pool: credential.parsed.pool, country: credential.parsed.country, carrier: device?.carrier_name ?? 'N/A', deviceId, currentIp: device?.ip ?? '',
      createdAt: prev?.createdAt ?? now, lastActivityAt: now, expiresAt: now + ttlMs, requestCount: (prev?.requestCount ?? 0) + 1,
      bytesIn: prev?.bytesIn ?? 0, bytesOut: prev?.bytesOut ?? 0, rotation: credential.parsed.rotation,
      username: `psx_${credential.key.reseller_id}-${credential.parsed.pool}-${credential.parsed.country}-sid-${sid}${credential.parsed.rotationExplicit ? `-rot-${credential.parsed.rotation}` : ''}`,
    };
    await kv.set(key, JSON.stringify(record), { ttlMs });
    const index = await kv.get(pakSessionIndexKv(credential.key.key_id));
    const sids = new Set<string>(index ? (JSON.parse(index) as string[]) : []);
    if (!sids.has(sid)) {
      sids.add(sid);
      await kv.set(pakSessionIndexKv(credential.key.key_id), JSON.stringify([...sids]), { ttlMs: 24 * 3600_000 });
    }
  }

  /** Bytes of a sticky session, written to its record on the next upkeep. */
  sessionMeter(keyId: string, sid: string | undefined, up: number, down: number): void {
    if (!sid) return;
    const k = `${keyId}:${sid}`;
    const b = this.sessionBytes.get(k) ?? { up: 0, down: 0 };
    b.up += up;
    b.down += down;
    this.sessionBytes.set(k, b);
  }

  private cutSession(keyId: string, sid: string): void {
    for (const [controller, s] of this.live.get(keyId)?.leases ?? []) if (s === sid) controller.abort(new Error('session closed'));
  }

  private cutKey(keyId: string): void {
    for (const controller of this.live.get(keyId)?.leases.keys() ?? []) controller.abort(new Error('revoked'));
    for (const [hash, c] of this.cache) if (c.row.key_id === keyId) this.cache.delete(hash);
  }

  /** Cuts the key's tunnels when it was disabled, regenerated, deleted, suspended or expired. */
  private async recheck(keyId: string): Promise<void> {
    for (const [hash, c] of this.cache) if (c.row.key_id === keyId) this.cache.delete(hash);
    const entry = this.live.get(keyId);
    if (!entry) return;
    const row = await findPoolKey(this.infra.database.db, keyId);
    if (!row || row.key_hash !== entry.hash || usable(row, this.infra.clock.now().getTime()) !== null) this.cutKey(keyId);
  }

  /** The brain's verdict on a key that resolved: admitted (reason null) or refused with the reason, for the audit. */
  outcome(row: PoolKeyRow, ip: string, refusal: string | null): void {
    this.tally(row, ip, refusal);
  }

  private tally(row: PoolKeyRow, ip: string, failure: string | null): void {
    const minute = new Date(Math.floor(this.infra.clock.now().getTime() / 60_000) * 60_000).toISOString();
    const k = `${row.key_id}|${minute}`;
    const t = this.tallies.get(k) ?? { resellerId: row.reseller_id, successes: 0, failures: 0, lastIp: null, reason: null, usedBytes: null, capBytes: null };
    t.lastIp = ip;
    if (failure === null) t.successes++;
    else {
      t.failures++;
      t.reason = failure;
      t.usedBytes = String(row.traffic_used_bytes);
      t.capBytes = row.traffic_cap_bytes === null ? null : String(row.traffic_cap_bytes);
    }
    this.tallies.set(k, t);
  }

  async tick(): Promise<void> {
    await this.flush();
    for (const keyId of [...this.live.keys()]) await this.recheck(keyId);
    // sessions closed by another process: their record is gone
    for (const [keyId, entry] of this.live) {
      for (const [controller, sid] of entry.leases) {
        if (sid && !(await this.infra.kv.get(pakSessionKv(keyId, sid))) && !(await this.infra.kv.get(pakStickyKv(keyId, sid)))) controller.abort(new Error('session closed'));
      }
    }
  }

  /** One PoolKeyGatewayAuthRecorded per key and minute seen since the last flush; session bytes into their records. */
  async flush(): Promise<void> {
    const tallies = [...this.tallies.entries()];
    this.tallies.clear();
    const at = this.infra.clock.now().toISOString();
    for (const [k, t] of tallies) {
      const [keyId, minute] = k.split('|') as [string, string];
      const event: PoolKeyGatewayAuthRecorded = {
        type: 'PoolKeyGatewayAuthRecorded',
        data: { keyId, resellerId: t.resellerId, minute, successes: t.successes, failures: t.failures, lastIp: t.lastIp, lastFailureReason: t.reason, usedBytes: t.usedBytes, trafficCapBytes: t.capBytes, gateway: this.gatewayId },
      };
      try {
        await this.infra.store.append(poolKeyAuthStreamId(keyId), [{ ...event, metadata: { correlationId: this.gatewayId, causationId: null, actor: 'gateway', occurredAt: at } }], { expectedRevision: 'any' });
      } catch (err) {
        this.infra.logger.warn({ err, keyId }, 'pak audit flush failed; dropped one minute of counts');
      }
    }
    const bytes = [...this.sessionBytes.entries()];
    this.sessionBytes.clear();
    for (const [k, b] of bytes) {
      const [keyId, sid] = k.split(':') as [string, string];
      const stored = await this.infra.kv.get(pakSessionKv(keyId, sid));
      if (!stored) continue;
      const record = JSON.parse(stored) as PakSessionRecord;
      record.bytesIn += b.down;
      record.bytesOut += b.up;
      await this.infra.kv.set(pakSessionKv(keyId, sid), JSON.stringify(record), { ttlMs: Math.max(1, record.expiresAt - this.infra.clock.now().getTime()) });
    }
  }
}
