import type { KeyValue } from '../../adapters/cache/port.ts';
import type { IpType } from '../../domain/peers/events.ts';

/**
 * Which relay holds which peer, shared by every relay and gateway through the KeyValue store (Redis when
 * split across processes). A relay rewrites its peers' records every few seconds; a record not rewritten
 * for STALE_MS belongs to a relay that died and is ignored.
 */
export interface PeerHealth {
  opened: number;
  /** tunnel_open_failed, open watchdog, stall watchdog. */
  failed: number;
  /** Moving average of bytes per second of finished tunnels that carried data. */
  throughput: number;
}

export interface PeerPresence {
  deviceId: string;
  relayId: string;
  /** http://host:port the gateway sends CONNECT to. */
  relayUrl: string;
  country: string | null;
  ipType: IpType;
  connectedAt: string;
  seenAt: number;
  health: PeerHealth;
}

const KEY = 'peers:online';
export const PRESENCE_STALE_MS = 45_000;

export async function publishPresence(kv: KeyValue, p: PeerPresence): Promise<void> {
  await kv.mapSet(KEY, p.deviceId, JSON.stringify(p));
}

/** Removes the record only if it is still this relay's (the peer may have moved to another relay meanwhile). */
export async function withdrawPresence(kv: KeyValue, deviceId: string, relayId: string): Promise<void> {
  const all = await kv.mapGetAll(KEY);
  const raw = all[deviceId];
  if (raw && (JSON.parse(raw) as PeerPresence).relayId === relayId) await kv.mapDelete(KEY, deviceId);
}

export async function onlinePeers(kv: KeyValue, nowMs: number): Promise<PeerPresence[]> {
  const all = await kv.mapGetAll(KEY);
  const out: PeerPresence[] = [];
  for (const raw of Object.values(all)) {
    try {
      const p = JSON.parse(raw) as PeerPresence;
      if (nowMs - p.seenAt <= PRESENCE_STALE_MS) out.push(p);
    } catch { /* a torn record is skipped */ }
  }
  return out;
}

/** The relays themselves (their public URL and load), so a draining relay can hand its peers to another. */
export interface RelayPresence { relayId: string; publicUrl: string; peers: number; seenAt: number }
const RELAYS = 'relays:online';

export async function publishRelay(kv: KeyValue, r: RelayPresence): Promise<void> {
  await kv.mapSet(RELAYS, r.relayId, JSON.stringify(r));
}

export async function withdrawRelay(kv: KeyValue, relayId: string): Promise<void> {
  await kv.mapDelete(RELAYS, relayId);
}

/** Live relays other than `self`, least loaded first. */
export async function otherRelays(kv: KeyValue, self: string, nowMs: number): Promise<RelayPresence[]> {
  const out: RelayPresence[] = [];
  for (const raw of Object.values(await kv.mapGetAll(RELAYS))) {
    try {
      const r = JSON.parse(raw) as RelayPresence;
      if (r.relayId !== self && nowMs - r.seenAt <= PRESENCE_STALE_MS) out.push(r);
    } catch { /* a torn record is skipped */ }
  }
  return out.sort((a, b) => a.peers - b.peers);
}

export async function peerPresence(kv: KeyValue, deviceId: string, nowMs: number): Promise<PeerPresence | null> {
  return (await onlinePeers(kv, nowMs)).find((p) => p.deviceId === deviceId) ?? null;
}

/**
 * The peer's own health score in (0, 1]: the share of tunnels that opened and kept moving (with a prior
 * of 4 good tunnels so a new peer gets traffic), nudged by throughput (1 MB/s and up counts fully).
 */
export function healthScore(h: PeerHealth): number {
  const success = (h.opened - h.failed + 4) / (h.opened + 4);
  const speed = Math.min(1, h.throughput / 1_000_000);
  return Math.max(0.01, Math.min(1, success * (0.7 + 0.3 * speed)));
}
