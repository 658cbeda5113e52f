/**
 * npm run bench:purchase — the paid purchase path on a local EVM chain (anvil + MockUSDC) with
 * tx-hash proofs: verify on chain → claim → session → port → respond. Measured side by side with
 * the unpaid quote path (402) of the same endpoint, so the ratio shows what payment handling costs.
 * Runs on PostgreSQL (BENCH_DATABASE_URL / TEST_DATABASE_URL, when set) and then on PGlite, with every
 * projection the product registers (BENCH_PGLITE=0 skips PGlite; BENCH_CPU_PROF=dir profiles the paid purchases).
 * BENCH_WARMUP (100) paid purchases go first, reported on their own row: the measured ones are those of
 * a service already running. Last line: <store>_purchase_rps, _p50_ms, _p99_ms for each store (measured).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { fixedClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/server.ts';
import { startChains } from '../test/support/chains.ts';
import { createTestDatabase } from '../test/support/services.ts';

const PURCHASES = Number(process.env.BENCH_PURCHASES ?? 300);
/** Paid purchases before the measured ones (JIT and caches warm, as in a running service); shown as their own row. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ADMIN = 'bench-admin-key-0123456789';

if (!process.env.TEST_DATABASE_URL && process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
const chains = await startChains();
const kinds: Array<'postgres' | 'pglite'> = [...(process.env.TEST_DATABASE_URL ? ['postgres' as const] : []), ...(process.env.BENCH_PGLITE === '0' ? [] : ['pglite' as const])];
const results: Array<{ kind: string; projections: number; quote: Result; cold: Result | undefined; paid: Result }> = [];
try {
  for (const kind of kinds) results.push(await measure(kind));
} finally {
  await chains.stop();
}

const row = (name: string, r: Result) => `${name.padEnd(36)}${r.rps.toFixed(1).padStart(10)}${r.p50.toFixed(1).padStart(10)}${r.p99.toFixed(1).padStart(10)}`;
console.log(`\n${''.padEnd(36)}${'req/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}   (${CONCURRENCY} concurrent, ${PURCHASES} each, ${results[0]!.projections} projections)`);
for (const r of results) {
  console.log(row(`${r.kind}: 402 quote (no proof)`, r.quote));
  if (r.cold) console.log(row(`${r.kind}: first ${WARMUP} paid (warm-up)`, r.cold));
  console.log(row(`${r.kind}: paid purchase`, r.paid));
}
const met = (r: Result) => r.p50 <= 50 && r.p99 <= 150 && r.rps >= 100;
console.log(`targets (p50 <= 50 ms, p99 <= 150 ms, >= 100/s): ${results.map((r) => `${r.kind} ${met(r.paid) ? 'met' : 'NOT met'}`).join(', ')}`);
console.log(results.map((r) => `${r.kind}_purchase_rps=${r.paid.rps.toFixed(1)} ${r.kind}_p50_ms=${r.paid.p50.toFixed(1)} ${r.kind}_p99_ms=${r.paid.p99.toFixed(1)}`).join(' '));

async function measure(kind: 'postgres' | 'pglite') {
  const t = await createTestDatabase(kind);
  const config = loadConfig({ ...chains.env, PORT: '0', HOST: '127.0.0.1', ADMIN_API_KEY: ADMIN, LOG_LEVEL: 'silent', ROLES: 'api,projector' });
  const service = await startService(config, fixedClock(new Date()), pino({ level: 'silent' }), { database: t.database });
  const url = service.url!;
  try {
    for (let i = 0; i < Math.ceil((WARMUP + PURCHASES) / 64) + 1; i++) {
      const res = await fetch(`${url}/v1/admin/devices`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-admin-key': ADMIN },
        body: JSON.stringify({ name: `bench-${i}`, countryCode: 'US', carrier: { name: 'Bench', brand: 'Bench' }, upstream: 'http://u:p@127.0.0.1:9', slots: 64 }),
      });
      if (res.status !== 201) throw new Error(`device: ${res.status}`);
    }
    process.stderr.write(`${kind}: paying ${WARMUP + PURCHASES} USDC transfers on anvil…\n`);
    const proofs: string[] = [];
    for (let i = 0; i < WARMUP + PURCHASES; i++) proofs.push(await chains.base.payUsdc(400_000n));

    const order = `${url}/v1/x402/proxy?country=US&traffic=0.1`;
    process.stderr.write(`${kind}: quotes, then purchases…\n`);
    // undici's request, not fetch: the load generator shares this process, and fetch's streams cost it more than the server's work it measures
    const quote = await run(PURCHASES, async () => {
      const res = await request(order);
      await res.body.arrayBuffer();
      if (res.statusCode !== 402) throw new Error(`quote: ${res.statusCode}`);
    });
    let next = 0;
    const buy = async () => {
      const res = await request(order, { headers: { 'payment-signature': proofs[next++]! } });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`purchase: ${res.statusCode} ${body}`);
    };
    const cold = WARMUP > 0 ? await run(WARMUP, buy) : undefined;
    const profile = await profiler(kind);
    const paid = await run(PURCHASES, buy);
    await profile.stop();
    return { kind, projections: service.infra.projector.projections.length, quote, cold, paid };
  } finally {
    await service.stop();
    await t.dispose();
  }
}

interface Result { rps: number; p50: number; p99: number }

/** BENCH_CPU_PROF=dir: a CPU profile of the paid purchases alone (not the setup or the payments made beforehand). */
async function profiler(kind: string): Promise<{ stop(): Promise<void> }> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return { stop: async () => {} };
  const session = new inspector.Session();
  session.connect();
  const post = (method: string) => new Promise<any>((resolve, reject) => session.post(method, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = await post('Profiler.stop');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `purchase-${kind}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function run(total: number, once: () => Promise<void>): Promise<Result> {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (issued < total) {
      issued++;
      const t0 = performance.now();
      await once();
      latencies.push(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { rps: total / seconds, p50: pct(50), p99: pct(99) };
}
