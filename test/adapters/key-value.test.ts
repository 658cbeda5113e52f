import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { MemoryKeyValue } from '../../adapters/cache/memory.ts';
import type { KeyValue } from '../../adapters/cache/port.ts';
import { RedisKeyValue } from '../../adapters/cache/redis.ts';
import { fixedClock } from '../../src/clock.ts';
import { testRedisUrl } from '../support/services.ts';

function keyValueContract(open: () => Promise<{ kv: KeyValue; expire: (ms: number) => Promise<void> }>) {
  let kv: KeyValue;
  let expire: (ms: number) => Promise<void>;
  before(async () => ({ kv, expire } = await open()));
  after(async () => kv.close());
  const key = () => `test:${randomUUID()}`;

  it('sets, gets and deletes', async () => {
    const k = key();
    expect(await kv.get(k)).to.equal(null);
    expect(await kv.set(k, 'v1')).to.equal(true);
    expect(await kv.get(k)).to.equal('v1');
    await kv.del(k);
    expect(await kv.get(k)).to.equal(null);
  });

  it('claims a key only once with onlyIfAbsent', async () => {
    const k = key();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => kv.set(k, `v${i}`, { onlyIfAbsent: true })));
    expect(results.filter(Boolean)).to.have.length(1);
  });

  it('expires keys after their ttl', async () => {
    const k = key();
    await kv.set(k, 'v', { ttlMs: 50 });
    expect(await kv.get(k)).to.equal('v');
    await expire(60);
    expect(await kv.get(k)).to.equal(null);
    expect(await kv.set(k, 'again', { ttlMs: 50, onlyIfAbsent: true })).to.equal(true);
  });

  it('counts in a fixed window that starts at the first increment', async () => {
    const k = key();
    expect(await kv.increment(k, 50)).to.equal(1);
    expect(await kv.increment(k, 50)).to.equal(2);
    expect(await kv.increment(k, 50)).to.equal(3);
    await expire(60);
    expect(await kv.increment(k, 50)).to.equal(1);
  });

  it('answers ping', async () => { await kv.ping(); });
}

describe('key-value: memory', () => {
  keyValueContract(async () => {
    const clock = fixedClock('2026-01-01T00:00:00Z');
    return { kv: new MemoryKeyValue(clock), expire: async (ms) => clock.advance(ms) };
  });
});

const redisUrl = await testRedisUrl();
(redisUrl ? describe : describe.skip)(`key-value: redis${redisUrl ? '' : ' (skipped: no TEST_REDIS_URL and no Docker engine)'}`, () => {
  // Redis keeps its own clock: expiry is waited for, with a short ttl.
  keyValueContract(async () => ({ kv: await RedisKeyValue.connect(redisUrl!), expire: (ms) => new Promise((r) => setTimeout(r, ms)) }));
});
