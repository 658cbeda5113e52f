/**
 * A tiny mobile-proxy lab on 127.0.0.1 for the prober tests:
 *   - an origin that echoes the caller's egress IP (JSON `{ ip }` or plain text),
 *   - "modems": an HTTP CONNECT proxy with Basic auth and a SOCKS5 proxy with username/password (RFC 1928/1929),
 *   - a black hole that accepts connections and never answers.
 * Everything dials 127.0.0.1 only, so to give each modem its own public address the lab plays carrier NAT:
 * a modem records the local port of each connection it opens towards the origin, and the origin answers
 * with the egress IP recorded for the port the request came from.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import type { EventStore } from '../../adapters/eventstore/port.ts';
import { fleetDecider, type FleetCommand } from '../../domain/fleet/decide.ts';
import { deviceStreamId, type Carrier, type Tier } from '../../domain/fleet/events.ts';
import type { Projection } from '../../projections/projection.ts';
import type { Clock } from '../../src/clock.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../../adapters/secrets/keyring.ts';
import { sealUpstream } from '../../src/fleet/secrets.ts';

export interface Origin {
  url: string;
  /** json `{ ip }`, the bare address as text, or a page that does not echo (like example.com). */
  format: 'json' | 'text' | 'html';
  requests: number;
}

export interface Modem {
  /** The device's upstream URL, credentials included. */
  upstream: string;
  /** What the origin sees this modem's traffic come from; change it to simulate an IP rotation. */
  egressIp: string;
  /** Tunnels opened through it. */
  tunnels: number;
  /** Most CONNECT requests waiting for their answer at the same time (HTTP modem, see `delayMs`). */
  maxPending: number;
  /** Refuses new connections from now on, and cuts the open ones: the modem is gone. */
  shutDown(): Promise<void>;
}

export interface ModemOptions {
  username: string;
  password: string;
  egressIp: string;
  /** HTTP modem: answer CONNECT only after this long, so tests can see how many probes are in flight at once. */
  delayMs?: number;
}

export interface Lab {
  origin: Origin;
  httpModem(options: ModemOptions): Promise<Modem>;
  socksModem(options: ModemOptions): Promise<Modem>;
  /** An upstream URL whose server accepts and then says nothing. */
  blackHole(): Promise<string>;
  close(): Promise<void>;
}

const LOCALHOST = '127.0.0.1';

interface Listener {
  server: net.Server;
  sockets: Set<net.Socket>;
}

export async function startLab(): Promise<Lab> {
  const nat = new Map<number, string>(); // local port of a modem's outgoing connection → its egress IP
  const servers: Listener[] = [];

  /** Remembers a server and its open sockets, so shutting it down cuts live tunnels too. */
  const track = (server: net.Server): Listener => {
    const entry = { server, sockets: new Set<net.Socket>() };
    server.on('connection', (socket: net.Socket) => {
      entry.sockets.add(socket);
      socket.once('close', () => entry.sockets.delete(socket));
    });
    servers.push(entry);
    return entry;
  };
  const listen = async (server: net.Server) => {
    await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
    return (server.address() as AddressInfo).port;
  };
  const shut = async (entry: Listener) => {
    const closed = new Promise<void>((resolve) => entry.server.close(() => resolve()));
    for (const socket of entry.sockets) socket.destroy();
    await closed;
  };

  const origin: Origin = { url: '', format: 'json', requests: 0 };
  const originServer = http.createServer((req, res) => {
    origin.requests++;
    const ip = nat.get(req.socket.remotePort ?? -1) ?? req.socket.remoteAddress ?? '';
    if (origin.format === 'json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ip }));
    else if (origin.format === 'text') res.writeHead(200, { 'content-type': 'text/plain' }).end(`${ip}\n`);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Example Domain</title>');
  });
  track(originServer);
  origin.url = `http://${LOCALHOST}:${await listen(originServer)}/ip`;

  /** Opens the modem's side of a tunnel; only towards 127.0.0.1, so a test can never reach the internet. */
  const dial = (modem: Modem, host: string, port: number, onOpen: (out: net.Socket) => void, onFail: () => void) => {
    if (host !== LOCALHOST && host !== 'localhost') return onFail();
    const out = net.connect(port, LOCALHOST, () => {
      nat.set(out.localPort!, modem.egressIp);
      modem.tunnels++;
      onOpen(out);
    });
    out.once('error', () => onFail());
  };
  const splice = (client: net.Socket, out: net.Socket, head: Buffer) => {
    if (head.length > 0) out.write(head);
    client.pipe(out).pipe(client);
    client.once('error', () => out.destroy());
    out.once('error', () => client.destroy());
    client.once('close', () => out.destroy());
    out.once('close', () => client.destroy());
  };
  const newModem = (options: ModemOptions, scheme: 'http' | 'socks5', entry: Listener, port: number): Modem => ({
    upstream: `${scheme}://${encodeURIComponent(options.username)}:${encodeURIComponent(options.password)}@${LOCALHOST}:${port}`,
    egressIp: options.egressIp,
    tunnels: 0,
    maxPending: 0,
    shutDown: () => shut(entry),
  });
  const lab: Lab = {
    origin,

    async httpModem(options) {
      const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
      const server = http.createServer((_req, res) => res.writeHead(405).end());
      const entry = track(server);
      const modem = newModem(options, 'http', entry, await listen(server));
      let inFlight = 0;
      server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
        client.on('error', () => {});
        if (req.headers['proxy-authorization'] !== expected) {
          client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="modem"\r\n\r\n');
          return;
        }
        inFlight++;
        modem.maxPending = Math.max(modem.maxPending, inFlight);
        setTimeout(() => {
          inFlight--;
          const url = new URL(`http://${req.url ?? ''}`);
          dial(modem, url.hostname, Number(url.port), (out) => {
            client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
            splice(client, out, head);
          }, () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
        }, options.delayMs ?? 0);
      });
      return modem;
    },

    async socksModem(options) {
      const server = net.createServer((client) => {
        client.on('error', () => {});
        void socks5Handshake(client, options).then((request) => {
          if (!request) return;
          dial(modem, request.host, request.port, (out) => {
            client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
            splice(client, out, request.rest);
          }, () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]))); // 5 = connection refused
        });
      });
      const modem = newModem(options, 'socks5', track(server), await listen(server));
      return modem;
    },

    async blackHole() {
      const server = net.createServer((socket) => socket.on('error', () => {}));
      track(server);
      return `http://u:p@${LOCALHOST}:${await listen(server)}`;
    },

    async close() {
      await Promise.all(servers.map(shut));
    },
  };
  return lab;
}

/** Reads exactly what it is asked for from a socket, or null when the socket ends first. */
function reader(socket: net.Socket) {
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ended = false;
  const onData = (chunk: Buffer) => { buffer = Buffer.concat([buffer, chunk]); wake?.(); };
  const onEnd = () => { ended = true; wake?.(); };
  socket.on('data', onData);
  socket.once('close', onEnd);
  return {
    async read(n: number): Promise<Buffer | null> {
      while (buffer.length < n) {
        if (ended) return null;
        await new Promise<void>((resolve) => { wake = resolve; });
      }
      const out = buffer.subarray(0, n);
      buffer = buffer.subarray(n);
      return out;
    },
    /** Stops reading and hands back whatever came after the handshake. */
    release(): Buffer {
      socket.off('data', onData);
      socket.off('close', onEnd);
      return buffer;
    },
  };
}

/** Server side of a SOCKS5 CONNECT with username/password auth; null (socket closed) when the client fails it. */
async function socks5Handshake(client: net.Socket, { username, password }: ModemOptions): Promise<{ host: string; port: number; rest: Buffer } | null> {
  const r = reader(client);
  const fail = (reply: number[]) => { r.release(); client.end(Buffer.from(reply)); return null; };
  const greeting = await r.read(2);
  if (!greeting || greeting[0] !== 5) return fail([5, 0xff]);
  const methods = await r.read(greeting[1]!);
  if (!methods || !methods.includes(0x02)) return fail([5, 0xff]); // only username/password is acceptable
  client.write(Buffer.from([5, 0x02]));
  const authHead = await r.read(2);
  if (!authHead || authHead[0] !== 1) return fail([1, 1]);
  const user = await r.read(authHead[1]!);
  const passLength = await r.read(1);
  const pass = passLength && (await r.read(passLength[0]!));
  if (!user || !pass || user.toString() !== username || pass.toString() !== password) return fail([1, 1]);
  client.write(Buffer.from([1, 0]));
  const head = await r.read(4);
  if (!head || head[0] !== 5 || head[1] !== 1) return fail([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]); // 7 = command not supported
  let host: string;
  if (head[3] === 1) {
    const a = await r.read(4);
    if (!a) return null;
    host = [...a].join('.');
  } else if (head[3] === 3) {
    const length = await r.read(1);
    const name = length && (await r.read(length[0]!));
    if (!name) return null;
    host = name.toString();
  } else {
    return fail([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]); // 8 = address type not supported (no IPv6 in the lab)
  }
  const port = await r.read(2);
  if (!port) return null;
  return { host, port: port.readUInt16BE(0), rest: r.release() };
}

/** Seals the upstreams fleetCommands registers; a prober opens them with it (deps.secrets). */
export const testKeyring = new Keyring(randomBytes(32));

/**
 * Fleet commands through the real decider and store, as the admin API and the prober append them;
 * `head` is the position of the latest append, for `projector.waitFor`.
 */
export function fleetCommands(store: EventStore, clock: Clock & { advance(ms: number): void }) {
  const fleet = {
    head: 0n,
    async run(deviceId: string, command: FleetCommand) {
      clock.advance(1000);
      const handled = await handleCommand({ store, clock }, fleetDecider, deviceStreamId(deviceId), command, { actor: 'test', correlationId: 'test' });
      if (handled.position > fleet.head) fleet.head = handled.position;
    },
    register: (deviceId: string, o: { countryCode?: string; carrier?: Carrier; upstream?: string; tiers?: Tier[] } = {}) =>
      fleet.run(deviceId, {
        type: 'RegisterDevice',
        data: {
          deviceId, name: deviceId, countryCode: o.countryCode ?? 'US', carrier: o.carrier ?? { name: 'T-Mobile USA', brand: 'T-Mobile' },
          upstream: sealUpstream(testKeyring, o.upstream ?? 'http://u:p@127.0.0.1:9'), tiers: o.tiers ?? ['shared', 'private'],
        },
      }),
    report: (deviceId: string, online: boolean, latencyMs?: number, ip?: string) =>
      fleet.run(deviceId, { type: 'ReportDeviceHealth', data: { deviceId, online, latencyMs, ip } }),
    retire: (deviceId: string) => fleet.run(deviceId, { type: 'RetireDevice', data: { deviceId } }),
  };
  return fleet;
}

/**
 * Empties the event store, the checkpoints and the projections' tables: suites share one database
 * (an embedded PGlite takes seconds to start) and each test starts from nothing. Call after migrating.
 */
export async function resetDatabase(db: Db, projections: readonly Projection[]): Promise<void> {
  const tables = ['es_events', 'es_streams', 'projection_checkpoints', ...projections.flatMap((p) => p.tables)];
  await sql`truncate ${sql.join(tables.map((t) => sql.table(t)))}`.execute(db);
}
