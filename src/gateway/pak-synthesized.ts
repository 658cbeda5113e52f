import { randomBytes } from 'node:crypto';
import { findDevice } from '../../projections/devices.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { PAK_SESSION_CLOSED, type PakCredential, type PakSessionRecord } from './pak.ts';

/**
 * A pak connection without a `-sid-` token is still a session the reseller lists (the SDK's
 * `isSynthesizedSid`): it gets a throwaway id `auto_<hex>` per connection and lives SYNTHESIZED_TTL_MS
 * after its last activity. Routing does not see the id (no sticky record: the next connection may land
 * elsewhere). Records sit in one map per key (fields cannot be lost to concurrent writers, and expired
 * ones are pruned here); closing one from the API deletes its field and cuts its tunnel at once
 * (in-process signal, or the next upkeep in another gateway process).
 */
export const SYNTHESIZED_TTL_MS = 5 * 60_000;
export const SYNTHESIZED_PREFIX = 'auto_';
export const pakSynthesizedKv = (keyId: string) => `paksynth:${keyId}`;

export type ListedSessionRecord = PakSessionRecord & { synthesized?: boolean };

interface LiveConnection { keyId: string; sid: string; controller: AbortController; up: number; down: number; routed: boolean; ended: boolean }

/** The key's synthesized sessions still within their TTL (expired fields are removed on the way). */
export async function synthesizedSessions(infra: Infrastructure, keyId: string): Promise<ListedSessionRecord[]> {
  const now = infra.clock.now().getTime();
  const out: ListedSessionRecord[] = [];
  for (const [sid, raw] of Object.entries(await infra.kv.mapGetAll(pakSynthesizedKv(keyId)))) {
    let record: ListedSessionRecord | undefined;
    try { record = JSON.parse(raw) as ListedSessionRecord; } catch { /* a torn record is dropped */ }
    if (record && record.expiresAt > now) out.push(record);
    else await infra.kv.mapDelete(pakSynthesizedKv(keyId), sid);
  }
  return out;
}

export class SynthesizedSessions {
  private readonly live = new Map<string, LiveConnection>();
  /** Keys this process wrote records for: when it last did, and when it last pruned their expired fields. */
  private readonly written = new Map<string, { at: number; prunedAt: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onClosed = ({ keyId, sid }: { keyId: string; sid: string }) => this.live.get(`${keyId}:${sid}`)?.controller.abort(new Error('session closed'));

  constructor(private readonly infra: Infrastructure) {
    infra.events.on(PAK_SESSION_CLOSED, this.onClosed);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick().catch((err) => this.infra.logger.warn({ err }, 'synthesized session upkeep failed')), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.infra.events.off(PAK_SESSION_CLOSED, this.onClosed);
    await this.tick();
  }

  /** A connection of a key without a sid: its throwaway session id. */
  open(credential: PakCredential, controller: AbortController): string {
    const sid = `${SYNTHESIZED_PREFIX}${randomBytes(6).toString('hex')}`;
    this.live.set(`${credential.key.key_id}:${sid}`, { keyId: credential.key.key_id, sid, controller, up: 0, down: 0, routed: false, ended: false });
    return sid;
  }

  /** The connection reached a device: its record (one more request, the device's carrier and IP). */
  async routed(credential: PakCredential, sid: string, deviceId: string): Promise<void> {
    const c = this.live.get(`${credential.key.key_id}:${sid}`);
    if (!c || c.controller.signal.aborted) return;
    const now = this.infra.clock.now().getTime();
    const field = pakSynthesizedKv(credential.key.key_id);
    const stored = c.routed ? (await this.infra.kv.mapGetAll(field))[sid] : undefined;
    if (c.routed && !stored) return; // closed meanwhile; the upkeep cuts it
    const prev = stored ? (JSON.parse(stored) as ListedSessionRecord) : undefined;
    const device = await findDevice(this.infra.database.db, deviceId);
    const p = credential.parsed;
    const record: ListedSessionRecord = {
      sessionKey: `${credential.key.key_id}:${sid}`, pakKeyId: credential.key.key_id, resellerId: credential.key.reseller_id, sessionId: sid,
      pool: p.pool, country: p.country, carrier: device?.carrier_name ?? 'N/A', deviceId, currentIp: device?.ip ?? '',
      createdAt: prev?.createdAt ?? now, lastActivityAt: now, expiresAt: now + SYNTHESIZED_TTL_MS, requestCount: (prev?.requestCount ?? 0) + 1,
      bytesIn: prev?.bytesIn ?? 0, bytesOut: prev?.bytesOut ?? 0, rotation: p.rotation,
      // what the customer typed, without the id: reusing a throwaway id is not the way to a sticky session
      username: `psx_${credential.key.reseller_id}-${p.pool}-${p.country}${p.rotationExplicit ? `-rot-${p.rotation}` : ''}`,
      synthesized: true,
    };
    await this.infra.kv.mapSet(field, sid, JSON.stringify(record));
    c.routed = true; // only now may the upkeep take a missing record for a closed session
    this.written.set(credential.key.key_id, { at: now, prunedAt: this.written.get(credential.key.key_id)?.prunedAt ?? now });
  }

  meter(keyId: string, sid: string, up: number, down: number): void {
    const c = this.live.get(`${keyId}:${sid}`);
    if (!c) return;
    c.up += up;
    c.down += down;
  }

  /** The connection ended: its last bytes go to the record on the next upkeep, which then forgets it. */
  end(keyId: string, sid: string): void {
    const c = this.live.get(`${keyId}:${sid}`);
    if (c) c.ended = true;
  }

  /** Bytes and activity into the records; a record deleted by the API (another process) cuts its tunnel. */
  async tick(): Promise<void> {
    const now = this.infra.clock.now().getTime();
    const byKey = new Map<string, LiveConnection[]>();
    for (const [k, c] of this.live) {
      if (c.routed) byKey.set(c.keyId, [...(byKey.get(c.keyId) ?? []), c]);
      else if (c.ended) this.live.delete(k); // never reached a device: nothing was listed
    }
    for (const [keyId, conns] of byKey) {
      const stored = await this.infra.kv.mapGetAll(pakSynthesizedKv(keyId));
      for (const c of conns) {
        const raw = stored[c.sid];
        if (!raw) {
          c.controller.abort(new Error('session closed'));
          this.live.delete(`${keyId}:${c.sid}`);
          continue;
        }
        const record = JSON.parse(raw) as ListedSessionRecord;
        const moved = c.up > 0 || c.down > 0;
        record.bytesIn += c.down;
        record.bytesOut += c.up;
        if (moved) record.lastActivityAt = now;
        // an open connection keeps its session listed however quiet it is; a closed one lives its TTL out
        const expiresAt = record.expiresAt;
        record.expiresAt = Math.max(record.expiresAt, (c.ended ? record.lastActivityAt : now) + SYNTHESIZED_TTL_MS);
        c.up = 0;
        c.down = 0;
        // a quiet open connection is rewritten about once a minute, not on every upkeep
        const refresh = !c.ended && expiresAt - now < SYNTHESIZED_TTL_MS - 60_000;
        if (moved || refresh) await this.infra.kv.mapSet(pakSynthesizedKv(keyId), c.sid, JSON.stringify(record));
        if (c.ended) this.live.delete(`${keyId}:${c.sid}`);
      }
    }
    await this.prune(now);
  }

  /** Map fields do not expire: the process that wrote a key's records removes the expired ones, once a minute. */
  private async prune(now: number): Promise<void> {
    for (const [keyId, w] of this.written) {
      if (now - w.prunedAt < 60_000) continue;
      w.prunedAt = now;
      const left = await synthesizedSessions(this.infra, keyId);
      // nothing of ours can still be listed: forget the key
      if (left.length === 0 && now - w.at > SYNTHESIZED_TTL_MS && ![...this.live.values()].some((c) => c.keyId === keyId)) this.written.delete(keyId);
    }
  }
}
