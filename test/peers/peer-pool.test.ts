import { expect } from 'chai';
import { MemoryKeyValue } from '../../adapters/cache/memory.ts';
import { fixedClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { Infrastructure } from '../../src/infrastructure.ts';
import { createPeerPool } from '../../src/peers/peer-pool.ts';
import { publishPresence, withdrawPresence, type PeerPresence } from '../../src/peers/presence.ts';

/** The peer pool's picks over a presence map in memory, with a seeded random (deterministic). */
describe('peer pool: sticky -sid- sessions', () => {
  const clock = fixedClock(new Date('2026-12-02T19:00:00Z'));
  const kv = new MemoryKeyValue(clock);
  const infra = { kv, clock, config: loadConfig({ PEER_JWT_SECRET: 'pool-test-'.repeat(4), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused' }) } as unknown as Infrastructure;
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  let wall = 0;
  const pool = createPeerPool(infra, random, () => wall);
  const noModems = async () => [];
  const presence = (deviceId: string): PeerPresence => ({
    deviceId, relayId: 'relay-a', relayUrl: 'http://127.0.0.1:7002', country: 'US', ipType: 'residential',
    connectedAt: clock.now().toISOString(), seenAt: clock.now().getTime(), health: { opened: 0, failed: 0, throughput: 0 },
  });
  const deviceOf = (c: Awaited<ReturnType<typeof pool.choose>>) => (c.kind === 'peer' ? c.upstream.deviceId : c.kind);

  before(async () => { for (let i = 0; i < 5; i++) await publishPresence(kv, presence(`peer-${i}`)); });

  it('spreads picks without a sid, keeps one peer for a live sid, and moves (then stays) when that peer goes', async () => {
    const loose = new Set<string>();
    for (let i = 0; i < 20; i++) loose.add(deviceOf(await pool.choose('peer', 'US', [], noModems)));
    expect(loose.size).to.be.greaterThan(1);

    const sticky = { key: 'peer-sticky:acct-1:abc', ttlMs: 60_000 };
    const first = deviceOf(await pool.choose('peer', 'US', [], noModems, sticky));
    for (let i = 0; i < 20; i++) expect(deviceOf(await pool.choose('peer', 'US', [], noModems, sticky))).to.equal(first);
    // another sid of the same account is its own session
    const other = new Set<string>();
    for (let i = 0; i < 10; i++) other.add(deviceOf(await pool.choose('peer', 'US', [], noModems, { key: `peer-sticky:acct-1:s${i}`, ttlMs: 60_000 })));
    expect(other.size).to.be.greaterThan(1);

    await withdrawPresence(kv, first, 'relay-a');
    wall += 1500; // past the pool's 1 s presence cache
    const next = deviceOf(await pool.choose('peer', 'US', [], noModems, sticky));
    expect(next).to.not.equal(first);
    for (let i = 0; i < 10; i++) expect(deviceOf(await pool.choose('peer', 'US', [], noModems, sticky))).to.equal(next);
    // a failed peer is excluded: the session moves rather than retrying it
    expect(deviceOf(await pool.choose('peer', 'US', [next], noModems, sticky))).to.not.equal(next);
  });

  it('forgets the session after its TTL without use, and renews it with each use', async () => {
    const sticky = { key: 'peer-sticky:acct-2:ttl', ttlMs: 10_000 };
    const first = deviceOf(await pool.choose('peer', 'US', [], noModems, sticky));
    clock.advance(6_000);
    expect(deviceOf(await pool.choose('peer', 'US', [], noModems, sticky))).to.equal(first);
    clock.advance(6_000); // 12 s after the pick, 6 s after the last use
    expect(await kv.get(sticky.key)).to.equal(first);
    clock.advance(11_000);
    expect(await kv.get(sticky.key)).to.equal(null);
  });

  it('`any` with a sid keeps the side it picked: the modem side stays on modems while one is up', async () => {
    const modems = async () => [{ deviceId: 'modem-1', score: 100 }];
    const sticky = { key: 'peer-sticky:acct-3:any', ttlMs: 60_000 };
    const first = await pool.choose('any', 'US', [], modems, sticky);
    for (let i = 0; i < 15; i++) expect(deviceOf(await pool.choose('any', 'US', [], modems, sticky))).to.equal(deviceOf(first));
  });
});
