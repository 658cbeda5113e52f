/**
 * npm run bench:gateway — on loopback, in one run: a 100 MB download direct, through a modem proxy
 * alone, and through the gateway (HTTP CONNECT and SOCKS5), with and without a modem upstream behind
 * it; then new-connection setup latency through the gateway. The gateway runs its real listeners,
 * tunnels and byte metering; the brain is the in-memory one from the listener tests (authentication
 * against the read models is measured by the e2e suite, not here). Client, gateway and origin run in
 * three processes, as they would in production.
 * Last line: connect_ratio (gateway CONNECT / direct), socks_ratio (gateway SOCKS5 / direct), setup_p99_ms.
 */
import net from 'node:net';
import { SocksClient } from 'socks';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PASSWORD, USER } from '../test/gateway/listeners/helpers.ts';

const SIZE = Number(process.env.BENCH_BYTES ?? 100_000_000);
const SETUPS = Number(process.env.BENCH_SETUPS ?? 300);

const children: ChildProcess[] = [];
async function part(name: string, env: Record<string, string> = {}): Promise<any> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/gateway-parts.ts', name], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [line] = await Promise.race([
    (async () => { for await (const l of createInterface({ input: child.stdout! })) return [l]; return [undefined]; })(),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)))),
  ]);
  return JSON.parse(line!);
}
const parts = await part('origin');
const bench = { origin: { port: parts.origin as number }, httpModem: { url: parts.httpModem as string } };
const gateway = await part('gateway', { HTTP_MODEM: parts.httpModem, SOCKS_MODEM: parts.socksModem }) as { http: number; socks: number };
const path = `/bytes/${SIZE}`;
const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;

/** Reads a whole HTTP/1.1 response off a socket; resolves with the byte count. */
function drain(socket: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    socket.on('data', (d: Buffer) => { bytes += d.length; });
    socket.on('end', () => resolve(bytes));
    socket.on('error', reject);
  });
}

async function viaConnect(proxyPort: number, auth: string | null): Promise<net.Socket> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
  socket.write(`CONNECT 127.0.0.1:${bench.origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${bench.origin.port}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`);
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) {
    const chunk: Buffer = await new Promise((r, j) => { socket.once('data', r); socket.once('error', j); });
    head = Buffer.concat([head, chunk]);
  }
  if (!/^HTTP\/1\.[01] 200/.test(head.toString())) throw new Error(`CONNECT refused: ${head.toString().split('\r\n')[0]}`);
  return socket;
}

async function viaSocks(proxyPort: number, user: string | null): Promise<net.Socket> {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port: proxyPort, type: 5, ...(user ? { userId: user, password: PASSWORD } : {}) },
    command: 'connect', destination: { host: '127.0.0.1', port: bench.origin.port },
  });
  return socket;
}

async function modemOnly(): Promise<net.Socket> {
  const url = new URL(bench.httpModem.url);
  return viaConnect(Number(url.port), `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`);
}

async function download(open: () => Promise<net.Socket>): Promise<number> {
  const started = performance.now();
  const socket = await open();
  const done = drain(socket);
  socket.write(request);
  const bytes = await done;
  if (bytes < SIZE) throw new Error(`short read: ${bytes}`);
  return SIZE / 1e6 / ((performance.now() - started) / 1000);
}

async function direct(): Promise<net.Socket> {
  const socket = net.connect(bench.origin.port, '127.0.0.1');
  await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
  return socket;
}

try {
  // one warm-up pass, then the measured one, so JIT and socket buffers are settled for every path
  const runs: Array<[string, () => Promise<net.Socket>]> = [
    ['direct', direct],
    ['modem (HTTP CONNECT) only', modemOnly],
    ['gateway CONNECT', () => viaConnect(gateway.http, basic(USER.direct))],
    ['gateway CONNECT + modem', () => viaConnect(gateway.http, basic(USER.http))],
    ['gateway SOCKS5', () => viaSocks(gateway.socks, USER.direct)],
    ['gateway SOCKS5 + modem', () => viaSocks(gateway.socks, USER.socks5)],
  ];
  const mbps: Record<string, number> = {};
  for (const [name, open] of runs) {
    process.stderr.write(`${name}…\n`);
    await download(open);
    mbps[name] = await download(open);
  }

  const setup: number[] = [];
  for (let i = 0; i < SETUPS; i++) {
    const t0 = performance.now();
    const socket = await viaConnect(gateway.http, basic(USER.direct));
    setup.push(performance.now() - t0);
    socket.destroy();
  }
  setup.sort((a, b) => a - b);
  const pct = (p: number) => setup[Math.min(setup.length - 1, Math.floor((p / 100) * setup.length))]!;

  const d = mbps.direct!;
  console.log(`\n${'path'.padEnd(28)}${'MB/s'.padStart(10)}${'vs direct'.padStart(11)}   (${SIZE / 1e6} MB over loopback)`);
  for (const [name] of runs) console.log(`${name.padEnd(28)}${mbps[name]!.toFixed(0).padStart(10)}${(mbps[name]! / d).toFixed(2).padStart(11)}`);
  console.log(`with a modem in the path, gateway vs modem alone: CONNECT ${(mbps['gateway CONNECT + modem']! / mbps['modem (HTTP CONNECT) only']!).toFixed(2)}`);
  console.log(`new CONNECT through the gateway (${SETUPS}): p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms`);
  const connect = mbps['gateway CONNECT']! / d;
  console.log(`target CONNECT >= 0.75 of direct: ${connect >= 0.75 ? 'met' : 'NOT met'}`);
  console.log(`connect_ratio=${connect.toFixed(2)} socks_ratio=${(mbps['gateway SOCKS5']! / d).toFixed(2)} setup_p99_ms=${pct(99).toFixed(2)}`);
} finally {
  for (const child of children) child.kill();
}
