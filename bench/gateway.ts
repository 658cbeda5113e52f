/**
 * npm run bench:gateway — side by side in one run on loopback, no modem behind the gateway: a 100 MB
 * download direct, through squid (HTTP CONNECT), the gateway's CONNECT, dante (SOCKS5) and the
 * gateway's SOCKS5, in interleaved passes (BENCH_PASSES after a warm-up pass, every other one in reverse order;
 * the ratios are the median of each pass's ratio, which pairs runs seconds apart on a machine that drifts); then
 * new-tunnel setup latency through each (BENCH_SETUPS per path, interleaved). 21 passes and 1,000 setups by default: with 7
 * and 300, one run's ratio and p99 (then the 3rd-slowest setup) moved from run to run by more than the targets' margins. The gateway runs its real listeners, tunnels, metering and
 * in-flight byte budget (#8), with the in-memory test brain; squid and dante are started here on
 * free ports (skipped with a note when the Debian packages are absent). Client, gateway and origin
 * run in separate processes. BENCH_CPU_PROF=dir writes a --cpu-prof of the gateway process there.
 * Last line: connect_vs_squid, socks_vs_dante, and the setup p99 differences in ms.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { SocksClient } from 'socks';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PASSWORD, USER } from '../test/gateway/listeners/helpers.ts';
import { startDante, startSquid, type Anchor } from './anchors.ts';

const SIZE = Number(process.env.BENCH_BYTES ?? 100_000_000);
const PASSES = Number(process.env.BENCH_PASSES ?? 21);
const SETUPS = Number(process.env.BENCH_SETUPS ?? 1000);

const children: ChildProcess[] = [];

/** CPU time (user + system, ms) of a process and every process under it, from /proc (clock ticks of 10 ms). */
function treeCpuMs(root: number): number {
  const procs: Array<{ pid: number; ppid: number; ticks: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": state is field 3
      procs.push({ pid: Number(entry), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch { /* gone meanwhile */ }
  }
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!tree.has(p.pid) && tree.has(p.ppid)) { tree.add(p.pid); grew = true; }
  }
  return procs.filter((p) => tree.has(p.pid)).reduce((sum, p) => sum + p.ticks, 0) * 10;
}
const anchors: Anchor[] = [];
async function part(name: string, flags: string[] = []): Promise<any> {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'bench/gateway-parts.ts', name], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [line] = await Promise.race([
    (async () => { for await (const l of createInterface({ input: child.stdout! })) return [l]; return [undefined]; })(),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)))),
  ]);
  return JSON.parse(line!);
}

try {
  const { origin } = await part('origin') as { origin: number };
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const gateway = await part('gateway', prof) as { http: number; socks: number };
  const gatewayPid = children.at(-1)!.pid!;
  const notes: string[] = [];
  const anchor = async (start: () => Promise<Anchor | { skipped: string }>): Promise<Anchor | null> => {
    const a = await start();
    if ('skipped' in a) { notes.push(a.skipped); return null; }
    anchors.push(a);
    return a;
  };
  const squid = await anchor(startSquid);
  const dante = await anchor(startDante);

  const request = `GET /bytes/${SIZE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
  const basic = `Basic ${Buffer.from(`${USER.direct}:${PASSWORD}`).toString('base64')}`;

  const drain = (socket: net.Socket): Promise<number> => new Promise((resolve, reject) => {
    let bytes = 0;
    socket.on('data', (d: Buffer) => { bytes += d.length; });
    socket.on('end', () => resolve(bytes));
    socket.on('error', reject);
  });
  const viaConnect = async (port: number, auth: string | null): Promise<net.Socket> => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
    socket.write(`CONNECT 127.0.0.1:${origin} HTTP/1.1\r\nHost: 127.0.0.1:${origin}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`);
    let head = Buffer.alloc(0);
    while (!head.includes('\r\n\r\n')) {
      const chunk: Buffer = await new Promise((r, j) => { socket.once('data', r); socket.once('error', j); });
      head = Buffer.concat([head, chunk]);
    }
    if (!/^HTTP\/1\.[01] 200/.test(head.toString())) throw new Error(`CONNECT refused: ${head.toString().split('\r\n')[0]}`);
    return socket;
  };
  const viaSocks = async (port: number, user: string | null): Promise<net.Socket> => {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port, type: 5, ...(user ? { userId: user, password: PASSWORD } : {}) },
      command: 'connect', destination: { host: '127.0.0.1', port: origin },
    });
    return socket;
  };
  const direct = async (): Promise<net.Socket> => {
    const socket = net.connect(origin, '127.0.0.1');
    await new Promise((r, j) => { socket.once('connect', r); socket.once('error', j); });
    return socket;
  };
  /** The proxy's CPU time for the transfer (its process tree), per MB: on two cores shared by client, proxy and origin this varies far less than MB/s. */
  const download = async (open: () => Promise<net.Socket>, pid: number | undefined): Promise<{ mbps: number; cpuPerMb: number }> => {
    const started = performance.now();
    const cpuBefore = pid === undefined ? 0 : treeCpuMs(pid);
    const socket = await open();
    const done = drain(socket);
    socket.write(request);
    const bytes = await done;
    if (bytes < SIZE) throw new Error(`short read: ${bytes}`);
    const cpuPerMb = pid === undefined ? NaN : (treeCpuMs(pid) - cpuBefore) / (SIZE / 1e6);
    return { mbps: SIZE / 1e6 / ((performance.now() - started) / 1000), cpuPerMb };
  };

  type Path = [string, () => Promise<net.Socket>, number | undefined];
  const paths: Path[] = [
    ['direct', direct, undefined],
    ...(squid ? [[`${squid.name} CONNECT`, () => viaConnect(squid.port, null), squid.pid] as Path] : []),
    ['gateway CONNECT', () => viaConnect(gateway.http, basic), gatewayPid],
    ...(dante ? [[`${dante.name} SOCKS5`, () => viaSocks(dante.port, null), dante.pid] as Path] : []),
    ['gateway SOCKS5', () => viaSocks(gateway.socks, USER.direct), gatewayPid],
  ];
  const runs = new Map<string, number[]>(paths.map(([name]) => [name, []]));
  const cpuRuns = new Map<string, number[]>(paths.map(([name]) => [name, []]));
  for (let pass = 0; pass <= PASSES; pass++) {
    process.stderr.write(pass === 0 ? 'warm-up pass…\n' : `pass ${pass}/${PASSES}…\n`);
    // every other pass in reverse order, so a proxy and its anchor each run first as often (the machine drifts within a pass)
    for (const [name, open, pid] of pass % 2 === 0 ? paths : [...paths].reverse()) {
      const { mbps, cpuPerMb } = await download(open, pid);
      if (pass > 0) { // pass 0 settles JIT and socket buffers
        runs.get(name)!.push(mbps);
        cpuRuns.get(name)!.push(cpuPerMb);
      }
    }
  }
  const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
  const mbps = new Map([...runs].map(([name, xs]) => [name, median(xs)]));
  // the sum over passes: each transfer is a few clock ticks of CPU, too coarse alone
  const cpu = new Map([...cpuRuns].map(([name, xs]) => [name, xs.reduce((a, b) => a + b, 0) / xs.length]));

  // setup latency: open a tunnel (through the proxy to the origin) and close it; interleaved in rounds
  const setupPaths = paths.filter(([name]) => name !== 'direct');
  const setups = new Map<string, number[]>(setupPaths.map(([name]) => [name, []]));
  for (let i = 0; i < SETUPS; i++) {
    for (const [name, open] of setupPaths) {
      const t0 = performance.now();
      const socket = await open();
      setups.get(name)!.push(performance.now() - t0);
      socket.destroy();
    }
  }
  const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };

  const d = mbps.get('direct')!;
  console.log(`\n${'path'.padEnd(24)}${'MB/s'.padStart(8)}${'vs direct'.padStart(11)}${'setup p50'.padStart(11)}${'p99 ms'.padStart(9)}${'CPU ms/MB'.padStart(11)}   (${SIZE / 1e6} MB over loopback, median of ${PASSES} interleaved passes; CPU: the proxy's, mean)`);
  for (const [name] of paths) {
    const s = setups.get(name);
    const c = cpu.get(name)!;
    console.log(`${name.padEnd(24)}${mbps.get(name)!.toFixed(0).padStart(8)}${(mbps.get(name)! / d).toFixed(2).padStart(11)}${s ? pct(s, 50).toFixed(2).padStart(11) : ''.padStart(11)}${s ? pct(s, 99).toFixed(2).padStart(9) : ''.padStart(9)}${Number.isNaN(c) ? '' : c.toFixed(3).padStart(11)}`);
  }
  for (const note of notes) console.log(`note: ${note}; its ratio is not measured`);
  // The median of the ratios within each pass, not a ratio of medians: a pass runs the two a few seconds apart, and
  // this machine's speed drifts from one pass to the next by more than the difference being measured.
  const paired = (of: Map<string, number[]>, gw: string, anchorName: string | undefined) =>
    (anchorName ? median(of.get(gw)!.map((x, i) => x / of.get(anchorName)![i]!)) : NaN);
  const ratio = (gw: string, anchorName: string | undefined) => paired(runs, gw, anchorName);
  const p99 = (name: string | undefined) => (name ? pct(setups.get(name)!, 99) : NaN);
  const squidPath = squid ? `${squid.name} CONNECT` : undefined;
  const dantePath = dante ? `${dante.name} SOCKS5` : undefined;
  const c = ratio('gateway CONNECT', squidPath);
  const s = ratio('gateway SOCKS5', dantePath);
  const cp = p99('gateway CONNECT') - p99(squidPath);
  const sp = p99('gateway SOCKS5') - p99(dantePath);
  console.log(`targets: CONNECT >= 1.0 x squid ${c >= 1 ? 'met' : 'NOT met'}; SOCKS5 >= 1.0 x dante ${s >= 1 ? 'met' : 'NOT met'}; setup p99 <= theirs + 1 ms: CONNECT ${cp <= 1 ? 'met' : 'NOT met'}, SOCKS5 ${sp <= 1 ? 'met' : 'NOT met'}`);
  // CPU over all passes: one transfer is a few 10 ms clock ticks, too coarse for a ratio per pass
  const cpuRatio = (gw: string, anchorName: string | undefined) => (anchorName ? cpu.get(gw)! / cpu.get(anchorName)! : NaN);
  console.log(`connect_vs_squid=${c.toFixed(2)} socks_vs_dante=${s.toFixed(2)} setup_p99_over_squid_ms=${cp.toFixed(2)} setup_p99_over_dante_ms=${sp.toFixed(2)} cpu_per_mb_vs_squid=${cpuRatio('gateway CONNECT', squidPath).toFixed(2)} cpu_per_mb_vs_dante=${cpuRatio('gateway SOCKS5', dantePath).toFixed(2)}`);
} finally {
  for (const child of children) child.kill('SIGINT');
  await Promise.all(anchors.map((a) => a.stop()));
}
