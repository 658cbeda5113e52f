import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { openTunnel } from '../../adapters/gateway/upstream.ts';

/**
 * Measurements of an account port, made for real through its modem (the device's upstream proxy) with
 * the gateway's own tunnel code: the IP echo for /ping and /ip, and a bounded download/upload for
 * /speed-test. Every request is bounded in bytes and time.
 */
const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1');
const portOf = (u: URL) => (u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);

interface Exchange { status: number; bytes: number; body: string; ms: number; firstByteMs: number; truncated: boolean }

async function exchange(upstream: string, target: URL, options: { method: 'GET' | 'POST'; uploadBytes?: number; maxBytes: number; timeoutMs: number }): Promise<Exchange> {
  const started = performance.now();
  const signal = AbortSignal.timeout(options.timeoutMs);
  const opened = await openTunnel({ deviceId: 'check', url: upstream }, { host: unbracket(target.hostname), port: portOf(target) }, { timeoutMs: options.timeoutMs, signal });
  if (!opened.ok) throw opened.error;
  const { socket: tunnel, head } = opened.tunnel;
  if (head.length > 0) tunnel.unshift(head);
  tunnel.resume();
  const host = unbracket(target.hostname);
  const socket = target.protocol === 'https:' ? tls.connect({ socket: tunnel, servername: net.isIP(host) ? undefined : host }) : tunnel;
  try {
    return await new Promise<Exchange>((resolve, reject) => {
      const req = http.request({
        createConnection: () => socket, host, port: portOf(target), method: options.method, path: `${target.pathname}${target.search}`, signal,
        headers: { host: target.host, 'user-agent': 'proxies-marketplace-port-check', connection: 'close', ...(options.uploadBytes ? { 'content-type': 'application/octet-stream', 'content-length': String(options.uploadBytes) } : {}) },
      });
      req.once('response', (res) => {
        const firstByteMs = performance.now() - started;
        const chunks: Buffer[] = [];
        let bytes = 0;
        let finished = false;
        const done = (truncated: boolean) => {
          if (finished) return;
          finished = true;
          resolve({ status: res.statusCode ?? 0, bytes, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started, firstByteMs, truncated });
        };
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (chunks.length < 64) chunks.push(chunk.subarray(0, 4096));
          if (bytes >= options.maxBytes) { done(true); res.destroy(); }
        });
        res.once('end', () => done(false));
        res.on('error', (e) => (finished ? undefined : reject(e)));
        signal.addEventListener('abort', () => done(true), { once: true });
      });
      req.on('error', reject);
      if (options.uploadBytes) {
        const block = Buffer.alloc(64 * 1024, 0x61);
        let left = options.uploadBytes;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, block.length);
            left -= n;
            if (!req.write(block.subarray(0, n))) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      } else {
        req.end();
      }
    });
  } finally {
    socket.destroy();
    tunnel.destroy();
  }
}

function echoedIp(body: string): string | null {
  const text = body.trim();
  if (net.isIP(text)) return text;
  try {
    const json = JSON.parse(text) as { ip?: unknown; origin?: unknown };
    const ip = typeof json.ip === 'string' ? json.ip : typeof json.origin === 'string' ? json.origin : null;
    return ip && net.isIP(ip.trim()) ? ip.trim() : null;
  } catch {
    return null;
  }
}

/** The public IP the port exits from, and how long the round trip took. */
export async function pingThrough(upstream: string, echoUrl: string, timeoutMs = 15_000): Promise<{ ip: string | null; responseTime: number }> {
  const res = await exchange(upstream, new URL(echoUrl), { method: 'GET', maxBytes: 64 * 1024, timeoutMs });
  return { ip: res.status < 400 ? echoedIp(res.body) : null, responseTime: Math.round(res.ms) };
}

/** Download (GET) and upload (POST) against the target, each bounded by maxBytes and maxSeconds. */
export async function speedTestThrough(upstream: string, targetUrl: string, maxBytes: number, maxSeconds: number) {
  const target = new URL(targetUrl);
  const down = new URL(target);
  down.searchParams.set('bytes', String(maxBytes));
  const d = await exchange(upstream, down, { method: 'GET', maxBytes, timeoutMs: maxSeconds * 1000 });
  const u = await exchange(upstream, target, { method: 'POST', uploadBytes: maxBytes, maxBytes: 64 * 1024, timeoutMs: maxSeconds * 1000 });
  const mbps = (bytes: number, ms: number) => Math.round(((bytes * 8) / 1e6 / Math.max(ms / 1000, 0.001)) * 100) / 100;
  // latency: request sent through the modem to the first response byte of the download (tunnel setup included, like /ping)
  return { downloadMbps: mbps(d.bytes, d.ms), uploadMbps: mbps(maxBytes, u.ms), latencyMs: Math.round(d.firstByteMs), downloadBytes: d.bytes, uploadBytes: maxBytes, durationMs: Math.round(d.ms + u.ms) };
}
