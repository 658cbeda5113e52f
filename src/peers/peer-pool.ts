import type { Upstream } from '../../adapters/gateway/brain.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { peerContext } from './context.ts';
import { healthScore, onlinePeers, type PeerPresence } from './presence.ts';

/**
 * The gateway's `peer` and `any` pools. A peer is reached through the relay that holds it (presence map):
 * the upstream is an HTTP CONNECT proxy at that relay, with the device id and the internal secret as
 * credentials, so the gateway's tunnel code is the one it uses for modems.
 */
export type PoolChoice = { kind: 'peer'; upstream: Upstream } | { kind: 'modem' } | { kind: 'none' };
export type ModemRanker = (q: { countryCode: string | 'any'; exclude: string[] }) => Promise<Array<{ deviceId: string; score?: number }>>;

/** A `-sid-` session: the KeyValue key it is remembered under and how long it lives unused. */
export interface PeerSticky { key: string; ttlMs: number }

export interface PeerPool {
  /** With `sticky`, the peer (or, for `any`, the modem side) picked first is kept while it is online and eligible. */
  choose(pool: 'peer' | 'any', countryCode: string | 'any', exclude: readonly string[], rankModems: ModemRanker, sticky?: PeerSticky): Promise<PoolChoice>;
  /** Countries with an online peer now. */
  countries(): Promise<string[]>;
}

const CACHE_MS = 1000;

export function createPeerPool(infra: Infrastructure, random: () => number = Math.random, wallNow: () => number = Date.now): PeerPool {
  const ctx = peerContext(infra);
  let cache: { at: number; peers: PeerPresence[] } | undefined;
  const online = async (fresh = false) => {
    // a performance cache, timed by the wall clock; staleness is judged by the service clock
    const wall = wallNow();
    if (fresh || !cache || wall - cache.at > CACHE_MS || wall < cache.at) cache = { at: wall, peers: await onlinePeers(infra.kv, infra.clock.now().getTime()) };
    return cache.peers;
  };
  const upstream = (p: PeerPresence): Upstream => {
    const u = new URL(p.relayUrl);
    u.username = encodeURIComponent(p.deviceId);
    u.password = encodeURIComponent(ctx.tokens.internalSecret);
    return { deviceId: p.deviceId, url: u.toString().replace(/\/$/, '') };
  };
  const pickWeighted = <T>(items: Array<{ item: T; weight: number }>): T | undefined => {
    const total = items.reduce((s, i) => s + i.weight, 0);
    let r = random() * total;
    for (const i of items) if ((r -= i.weight) <= 0) return i.item;
    return items.at(-1)?.item;
  };
  return {
    async choose(pool, countryCode, exclude, rankModems, sticky) {
      const eligible = (list: PeerPresence[]) => list.filter((p) => (countryCode === 'any' || p.country === countryCode) && !exclude.includes(p.deviceId));
      let peers = eligible(await online());
      if (peers.length === 0) peers = eligible(await online(true)); // a peer that just connected is not in the cache yet
      if (!sticky) return pick(pool, countryCode, exclude, peers, rankModems);
      const kept = await infra.kv.get(sticky.key);
      // the modem side of `any` keeps its own sticky record (the modem router's); we only remember the side
      if (kept === MODEM && pool === 'any' && (await rankModems({ countryCode, exclude: [...exclude] })).length > 0) {
        await infra.kv.set(sticky.key, MODEM, { ttlMs: sticky.ttlMs });
        return { kind: 'modem' };
      }
      const same = kept ? peers.find((p) => p.deviceId === kept) : undefined;
      const choice: PoolChoice = same ? { kind: 'peer', upstream: upstream(same) } : await pick(pool, countryCode, exclude, peers, rankModems);
      if (choice.kind !== 'none') await infra.kv.set(sticky.key, choice.kind === 'peer' ? choice.upstream.deviceId : MODEM, { ttlMs: sticky.ttlMs });
      return choice;
    },
    async countries() {
      return [...new Set((await online()).map((p) => p.country).filter((c): c is string => !!c))].sort();
    },
  };

  async function pick(pool: 'peer' | 'any', countryCode: string | 'any', exclude: readonly string[], peers: PeerPresence[], rankModems: ModemRanker): Promise<PoolChoice> {
    const peerCandidates = peers.map((p) => ({ item: p, weight: healthScore(p.health) }));
    if (pool === 'peer') {
      const p = pickWeighted(peerCandidates);
      return p ? { kind: 'peer', upstream: upstream(p) } : { kind: 'none' };
    }
    // `any`: the best modem competes with the peers, each weighted by its own health
    const [modem] = await rankModems({ countryCode, exclude: [...exclude] });
    if (!modem) {
      const p = pickWeighted(peerCandidates);
      return p ? { kind: 'peer', upstream: upstream(p) } : { kind: 'modem' }; // the modem path answers E_NO_STOCK_COUNTRY
    }
    const modemWeight = modem.score === undefined ? 1 : modem.score > 1 ? modem.score / 100 : modem.score;
    const choice = pickWeighted<PeerPresence | 'modem'>([{ item: 'modem', weight: Math.max(0.01, modemWeight) }, ...peerCandidates]);
    return choice === 'modem' || choice === undefined ? { kind: 'modem' } : { kind: 'peer', upstream: upstream(choice) };
  }
}

const MODEM = '@modem';
