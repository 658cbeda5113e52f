import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { SocksClient } from 'socks';

/** A proxy to reach through (credentials as the list gave them). */
export interface ProxyEndpoint { ip: string; port: number; username: string | null; password: string | null }
/** How to talk to it: an HTTP forward request, an HTTP CONNECT tunnel, or a SOCKS tunnel. */
export type ProxyMode = 'forward' | 'connect' | 'socks4' | 'socks5';

export interface HttpAnswer { status: number; headers: Record<string, string>; body: string }

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect timed out after ${timeoutMs} ms`)); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('error', (e) => { clearTimeout(timer); socket.destroy(); reject(e); });
  });
}

const basic = (p: ProxyEndpoint) => (p.username ? `Proxy-Authorization: Basic ${Buffer.from(`${p.username}:${p.password ?? ''}`).toString('base64')}\r\n` : '');

/**
 * Reads one HTTP response: headers, then Content-Length bytes, or until the peer closes. Bounded in
 * size and time; `headOnly` stops after the status line and headers (the URL test needs no body).
 */
export function readResponse(socket: Socket, timeoutMs: number, { maxBytes = 256 * 1024, headOnly = false } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string>; bodyStart: number } | null = null;
    const done = (error: Error | null, answer?: HttpAnswer) => {
      clearTimeout(timer);
      socket.removeAllListeners('data'); socket.removeAllListeners('end'); socket.removeAllListeners('close');
      if (error) reject(error); else resolve(answer!);
    };
    const timer = setTimeout(() => { socket.destroy(); done(new Error(`no answer within ${timeoutMs} ms`)); }, timeoutMs);
    const finish = () => {
      if (!head) return done(new Error(buf.length ? 'not an HTTP answer' : 'connection closed without an answer'));
      done(null, { status: head.status, headers: head.headers, body: buf.subarray(head.bodyStart).toString('utf8') });
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > maxBytes) { socket.destroy(); return done(new Error('answer too large')); }
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) { if (buf.length > 16 && !buf.subarray(0, 5).toString('latin1').startsWith('HTTP/')) { socket.destroy(); done(new Error('not an HTTP answer')); } return; }
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(lines[0] ?? '');
        if (!m) { socket.destroy(); return done(new Error('not an HTTP answer')); }
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) { const i = l.indexOf(':'); if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim(); }
        head = { status: Number(m[1]), headers, bodyStart: end + 4 };
        if (headOnly) return finish();
      }
      const length = Number(head.headers['content-length'] ?? NaN);
      if (Number.isFinite(length) && buf.length - head.bodyStart >= length) finish();
    });
    socket.once('end', finish);
    socket.once('close', () => { if (head) finish(); else done(new Error('connection closed without an answer')); });
    socket.once('error', (e) => done(e));
  });
}

/** A TCP stream to dest through the proxy (CONNECT or SOCKS). */
export async function openTunnel(proxy: ProxyEndpoint, mode: Exclude<ProxyMode, 'forward'>, dest: { host: string; port: number }, timeoutMs: number): Promise<Socket> {
  if (mode === 'connect') {
    const socket = await tcpConnect(proxy.ip, proxy.port, timeoutMs);
    const authority = dest.host.includes(':') ? `[${dest.host}]:${dest.port}` : `${dest.host}:${dest.port}`;
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${basic(proxy)}\r\n`);
    const answer = await readResponse(socket, timeoutMs, { headOnly: true }).catch((e) => { socket.destroy(); throw e; });
    if (answer.status !== 200) { socket.destroy(); throw new Error(`CONNECT refused with ${answer.status}`); }
    return socket;
  }
  const { socket } = await SocksClient.createConnection({
    proxy: { host: proxy.ip, port: proxy.port, type: mode === 'socks5' ? 5 : 4, userId: proxy.username ?? undefined, password: proxy.password ?? undefined },
    command: 'connect',
    destination: { host: dest.host, port: dest.port },
    timeout: timeoutMs,
  });
  return socket;
}

/** GET `url` through the proxy in the given mode; https URLs get TLS inside the tunnel. */
export async function getThrough(proxy: ProxyEndpoint, mode: ProxyMode, url: URL, timeoutMs: number, opts: { headOnly?: boolean; insecure?: boolean } = {}): Promise<HttpAnswer> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const path = `${url.pathname}${url.search}`;
  let socket: Socket;
  let request: string;
  if (mode === 'forward' && url.protocol === 'http:') {
    socket = await tcpConnect(proxy.ip, proxy.port, timeoutMs);
    request = `GET ${url.href} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: proxy-pool-checker/1\r\nAccept: */*\r\nConnection: close\r\n${basic(proxy)}\r\n`;
  } else {
    socket = await openTunnel(proxy, mode === 'forward' ? 'connect' : mode, { host, port }, timeoutMs);
    request = `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: proxy-pool-checker/1\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
  }
  if (url.protocol === 'https:') {
    socket = tls.connect({ socket, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !opts.insecure });
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', () => resolve()); socket.once('error', reject); });
  }
  try {
    socket.write(request);
    return await readResponse(socket, timeoutMs, { headOnly: opts.headOnly });
  } finally {
    socket.destroy();
  }
}
