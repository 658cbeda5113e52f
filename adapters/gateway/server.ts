import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { createHttpProxy, type ListenerOptions, type ProxyListener } from './http-listener.ts';
import { createSocks5Proxy } from './socks5-listener.ts';

/** The gateway process's listeners: HTTP proxy, SOCKS5 proxy, and a health endpoint for the orchestrator. */

export interface GatewayOptions extends Omit<ListenerOptions, 'requestId'> {
  /** Bind address for all three listeners. */
  host: string;
  /** 0 picks a free port (tests); the chosen ones are on the result. */
  httpPort: number;
  socksPort: number;
  healthPort: number;
  requestId?: () => string;
  /** What the health port reports beyond the listeners; `degraded` answers 503 so a load balancer notices. */
  health?: () => { status: 'ok' | 'degraded'; [detail: string]: unknown };
}

export interface GatewayStats {
  connections: { http: number; socks5: number };
  /** Upstream sockets open, tunnels still being opened included. */
  tunnels: number;
}

export interface RunningGateway {
  host: string;
  httpPort: number;
  socksPort: number;
  healthPort: number;
  stats(): GatewayStats;
  /** Client connections open on both proxy listeners. */
  openConnections(): number;
  /** Stops accepting, destroys every live tunnel, and resolves once every socket is closed. */
  stop(): Promise<void>;
}

/**
 * Short enough to read out in a support ticket; collisions only cost a support engineer a second look. 12 random hex
 * digits (a UUID's last group): randomUUID draws from a pooled buffer, where randomBytes(6) made a syscall per connection.
 */
export const defaultRequestId = (): string => randomUUID().slice(24);

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const listenerOptions: ListenerOptions = { ...options, requestId: options.requestId ?? defaultRequestId };
  const httpProxy = createHttpProxy(listenerOptions);
  const socksProxy = createSocks5Proxy(listenerOptions);
  const proxies: Array<ProxyListener<net.Server>> = [httpProxy, socksProxy];
  const ports = { http: 0, socks5: 0, health: 0 };

  const stats = (): GatewayStats => ({
    connections: { http: httpProxy.connections(), socks5: socksProxy.connections() },
    tunnels: httpProxy.tunnels() + socksProxy.tunnels(),
  });
  const health = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/health') return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    const state = options.health?.() ?? { status: 'ok' as const };
    const body = JSON.stringify({ ...state, ...stats(), ports });
    res.writeHead(state.status === 'ok' ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const closed = [close(httpProxy.server), close(socksProxy.server), close(health)];
      health.closeAllConnections();
      await Promise.all(proxies.map((p) => p.destroyAll()));
      await Promise.all(closed);
    })());

  try {
    ports.http = await listen(httpProxy.server, options.httpPort, options.host);
    ports.socks5 = await listen(socksProxy.server, options.socksPort, options.host);
    ports.health = await listen(health, options.healthPort, options.host);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    host: options.host,
    httpPort: ports.http,
    socksPort: ports.socks5,
    healthPort: ports.health,
    stats,
    openConnections: () => httpProxy.connections() + socksProxy.connections(),
    stop,
  };
}
