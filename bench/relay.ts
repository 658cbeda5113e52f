/**
 * npm run bench:relay — side by side in one run on loopback:
 *  1. a 100 MB download direct vs through gateway → relay → peer agent → origin (interleaved passes,
 *     the median of BENCH_PASSES after a warm-up, spread = min–max);
 *  2. BENCH_TUNNELS (1,000) concurrent tunnels over BENCH_PEERS (10) peers held for BENCH_HOLD_S (30 s),
 *     each echoing 64 bytes every second: errors, p50/p99 tunnel open latency (CONNECT sent → 200, which
 *     the relay answers when the agent has reached the origin), and memory per open tunnel = the RSS and
 *     heap (+ external buffers, after a GC) delta of the hub (gateway + relay) and agents processes divided
 *     by the open tunnels.
 * Origin, hub, agents and this client are separate processes (bench/relay-parts.ts). Last line: the ratios.
 */
import net from 'node:net';
import os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PASSWORD } from '../test/gateway/listeners/helpers.ts';

const SIZE = Number(process.env.BENCH_BYTES ?? 100_000_000);
const PASSES = Number(process.env.BENCH_PASSES ?? 3);
const TUNNELS = Number(process.env.BENCH_TUNNELS ?? 1000);
const PEERS = Number(process.env.BENCH_PEERS ?? 10);
const HOLD_S = Number(process.env.BENCH_HOLD_S ?? 30);

type Mem = { rss: number; heap: number };
interface Part { child: ChildProcess; info: any; mem(): Promise<Mem> }
const children: ChildProcess[] = [];
async function part(name: string, env: Record<string, string> = {}): Promise<Part> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/relay-parts.ts', name], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env: { ...process.env, BENCH_PEERS: String(PEERS), ...env },
  });
  children.push(child);
  const line = await Promise.race([
    (async () => { for await (const l of createInterface({ input: child.stdout! })) return l; return undefined; })(),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)))),
  ]);
  const mem = () => new Promise<Mem>((resolve) => { child.once('message', (m) => resolve(m as Mem)); child.send('mem'); });
  return { child, info: JSON.parse(line!), mem };
}
const sumMem = async (parts: Part[]): Promise<Mem> => (await Promise.all(parts.map((p) => p.mem()))).reduce((a, m) => ({ rss: a.rss + m.rss, heap: a.heap + m.heap }), { rss: 0, heap: 0 });
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CONNECT through the gateway; resolves once the 200 has arrived, with what followed it. */
async function viaGateway(port: number, user: string, host: string, targetPort: number): Promise<{ socket: net.Socket; rest: Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
  const auth = Buffer.from(`${user}:${PASSWORD}`).toString('base64');
  socket.write(`CONNECT ${host}:${targetPort} HTTP/1.1\r\nHost: ${host}:${targetPort}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) {
    const chunk: Buffer = await new Promise((r, j) => { socket.once('data', r); socket.once('error', j); socket.once('end', () => j(new Error('closed during CONNECT'))); });
    head = Buffer.concat([head, chunk]);
  }
  socket.removeAllListeners('error').removeAllListeners('end');
  const end = head.indexOf('\r\n\r\n') + 4;
  if (!/^HTTP\/1\.[01] 200/.test(head.toString('latin1', 0, end))) { socket.destroy(); throw new Error(`CONNECT refused: ${head.toString().split('\r\n')[0]}`); }
  return { socket, rest: head.subarray(end) };
}

async function download(open: () => Promise<{ socket: net.Socket; rest: Buffer }>): Promise<number> {
  const started = performance.now();
  const { socket, rest } = await open();
  let bytes = rest.length;
  const done = new Promise<void>((resolve, reject) => { socket.on('data', (d: Buffer) => { bytes += d.length; }); socket.on('end', resolve); socket.on('error', reject); });
  socket.write(`GET /bytes/${SIZE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await done;
  if (bytes < SIZE) throw new Error(`short read: ${bytes}`);
  return SIZE / 1e6 / ((performance.now() - started) / 1000);
}

try {
  console.log(`load before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const origin = await part('origin');
  const hub = await part('hub');
  const agents = await part('agents', { BENCH_HUB: JSON.stringify(hub.info) });
  const { origin: originPort, echo: echoPort } = origin.info as { origin: number; echo: number };

  // 1. throughput
  const direct = async () => {
    const socket = net.connect(originPort, '127.0.0.1');
    await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
    return { socket, rest: Buffer.alloc(0) };
  };
  const relayed = () => viaGateway(hub.info.http, 'user-peer-0', '127.0.0.1', originPort);
  const runs = { direct: [] as number[], relay: [] as number[] };
  for (let pass = 0; pass <= PASSES; pass++) {
    process.stderr.write(pass === 0 ? 'warm-up pass…\n' : `pass ${pass}/${PASSES}…\n`);
    const d = await download(direct);
    const r = await download(relayed);
    if (pass > 0) { runs.direct.push(d); runs.relay.push(r); }
  }
  const median = (xs: number[]) => pct(xs, 50);
  const ratios = runs.relay.map((r, i) => r / runs.direct[i]!);
  const ratio = median(runs.relay) / median(runs.direct);
  console.log(`\n${SIZE / 1e6} MB over loopback, median of ${PASSES} interleaved passes (min–max), load ${os.loadavg()[0]!.toFixed(2)}`);
  console.log(`  direct                               ${median(runs.direct).toFixed(0).padStart(6)} MB/s  (${Math.min(...runs.direct).toFixed(0)}–${Math.max(...runs.direct).toFixed(0)})`);
  console.log(`  gateway → relay → agent → origin     ${median(runs.relay).toFixed(0).padStart(6)} MB/s  (${Math.min(...runs.relay).toFixed(0)}–${Math.max(...runs.relay).toFixed(0)})  ${ratio.toFixed(2)} × direct (per pass ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);

  // 2. concurrent tunnels
  await sleep(500);
  const base = await sumMem([hub, agents]);
  const opens: number[] = [];
  const errors: string[] = [];
  const open: net.Socket[] = [];
  const WAVE = 100;
  for (let i = 0; i < TUNNELS; i += WAVE) {
    await Promise.all(Array.from({ length: Math.min(WAVE, TUNNELS - i) }, async (_, j) => {
      const t0 = performance.now();
      try {
        const { socket } = await viaGateway(hub.info.http, `user-peer-${(i + j) % PEERS}`, '127.0.0.1', echoPort);
        opens.push(performance.now() - t0);
        open.push(socket);
      } catch (e) { errors.push(`open: ${(e as Error).message}`); }
    }));
  }
  let holding = true;
  const pumps = open.map((socket, n) => new Promise<void>((resolve) => {
    const msg = Buffer.alloc(64, n % 251);
    let got = 0;
    socket.on('data', (d: Buffer) => { got += d.length; });
    socket.on('error', (e) => { if (holding) errors.push(`tunnel ${n}: ${e.message}`); });
    socket.on('close', () => { if (holding) errors.push(`tunnel ${n}: closed while held`); resolve(); });
    let sent = 0;
    const tick = () => {
      if (!holding) return void resolve();
      if (got < sent) errors.push(`tunnel ${n}: echo missing (${got} of ${sent} bytes)`);
      socket.write(msg); sent += msg.length;
      setTimeout(tick, 1000);
    };
    setTimeout(tick, Math.random() * 1000);
  }));
  await sleep((HOLD_S * 1000) / 2);
  const held = await sumMem([hub, agents]);
  const stillOpen = open.filter((s) => !s.destroyed).length;
  await sleep((HOLD_S * 1000) / 2);
  holding = false;
  for (const s of open) s.destroy();
  await Promise.all(pumps);
  const perRss = (held.rss - base.rss) / Math.max(1, stillOpen);
  const perHeap = (held.heap - base.heap) / Math.max(1, stillOpen);
  console.log(`\n${TUNNELS} tunnels over ${PEERS} peers held ${HOLD_S} s, 64 B echoed per tunnel per second, load ${os.loadavg()[0]!.toFixed(2)}`);
  console.log(`  opened ${opens.length}, open at the memory sample ${stillOpen}, errors ${errors.length}${errors.length ? ` (first: ${errors.slice(0, 3).join('; ')})` : ''}`);
  console.log(`  open latency p50 ${pct(opens, 50).toFixed(1)} ms, p99 ${pct(opens, 99).toFixed(1)} ms, max ${Math.max(...opens).toFixed(1)} ms`);
  console.log(`  memory per open tunnel (hub + agents): RSS ${(perRss / 1024).toFixed(1)} KB, heap+buffers ${(perHeap / 1024).toFixed(1)} KB (base RSS ${(base.rss / 2 ** 20).toFixed(0)} MB → ${(held.rss / 2 ** 20).toFixed(0)} MB)`);
  const met = (b: boolean) => (b ? 'met' : 'NOT met');
  console.log(`targets: relay >= 0.25 x direct ${met(ratio >= 0.25)}; zero errors ${met(errors.length === 0 && opens.length === TUNNELS)}; <= 64 KB per tunnel ${met(perRss <= 64 * 1024)}`);
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`relay_vs_direct=${ratio.toFixed(2)} errors=${errors.length} kb_per_tunnel_rss=${(perRss / 1024).toFixed(1)} kb_per_tunnel_heap=${(perHeap / 1024).toFixed(1)} open_p99_ms=${pct(opens, 99).toFixed(1)}`);
} finally {
  for (const c of children) c.kill('SIGINT');
}
