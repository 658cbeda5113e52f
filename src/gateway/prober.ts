import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { Db } from '../../adapters/db/database.ts';
import { openTunnel } from '../../adapters/gateway/upstream.ts';
import type { EventStore } from '../../adapters/eventstore/port.ts';
import { uuidv7 } from '../../adapters/ids.ts';
import { fleetDecider } from '../../domain/fleet/decide.ts';
import { deviceStreamId } from '../../domain/fleet/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import type { Clock } from '../clock.ts';
import { handleCommand } from '../commands/handle.ts';
import type { Keyring } from '../../adapters/secrets/keyring.ts';
import { openUpstream } from '../fleet/secrets.ts';
import { confirmRotatedIps } from '../x402/rotation.ts';

/**
 * The device prober: every pass, each active modem gets one HTTP request to PROBE_URL sent *through its own
 * upstream* — the path customers' traffic takes (HTTP CONNECT with Basic auth, or SOCKS5 with user/pass) —
 * and the outcome is appended as ReportDeviceHealth. Those reports feed the pool score (projections/pool-scores.ts).
 *
 * Online means the target answered over the tunnel (any HTTP status: the modem's path works; what the
 * origin says is the origin's business). The egress IP is read from the answer when the target echoes it.
 */

export const DEFAULT_PROBE_URL = 'http://example.com/';
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
export const DEFAULT_PROBE_CONCURRENCY = 8;
/** An IP echo answers in a few bytes; anything beyond this is not one. */
const MAX_BODY_BYTES = 4096;

export type ProbeResult =
  | { online: true; latencyMs: number; ip: string | null }
  | { online: false; error: string };

export type ProbeOutcome =
  | { deviceId: string; outcome: 'reported'; result: ProbeResult; position: bigint }
  /** Retired after this pass listed it: the device stream refused the report. */
  | { deviceId: string; outcome: 'retired' }
  /** stop() interrupted the probe: nothing is reported (the modem did nothing wrong). */
  | { deviceId: string; outcome: 'cancelled' }
  /** The report could not be appended (store unavailable…); the next pass tries again. */
  | { deviceId: string; outcome: 'failed'; error: string };

export interface ProberLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ProberDeps {
  db: Db;
  store: EventStore;
  clock: Clock;
  logger?: ProberLogger | undefined;
  /** Opens sealed upstream passwords (in memory only); without it only unsealed upstreams can be probed. */
  secrets?: Keyring | undefined;
}

export interface ProberOptions {
  probeUrl?: string | undefined;
  timeoutMs?: number | undefined;
  concurrency?: number | undefined;
}

export class DeviceProber {
  private readonly target: URL;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private cancel = new AbortController();
  private running = false;

  constructor(private readonly deps: ProberDeps, options: ProberOptions = {}) {
    this.target = new URL(options.probeUrl ?? DEFAULT_PROBE_URL);
    if (this.target.protocol !== 'http:' && this.target.protocol !== 'https:') throw new Error(`PROBE_URL must be http or https, got ${this.target.protocol}`);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_PROBE_CONCURRENCY);
  }

  /** One pass over the active devices, at most `concurrency` probes at once. */
  async tick(): Promise<ProbeOutcome[]> {
    const devices = (await this.deps.db
      .selectFrom('fleet_devices')
      .select(['device_id', 'upstream'])
      .where('status', '=', 'active')
      .orderBy('device_id')
      .execute()) as Array<{ device_id: string; upstream: string }>;
    const correlationId = uuidv7(this.deps.clock.now().getTime()); // ties the reports of one pass together
    const signal = this.cancel.signal;
    const outcomes = await mapLimit(devices, this.concurrency, async ({ device_id: deviceId, upstream }) => {
      const result = await probe(this.deps.secrets ? openUpstream(this.deps.secrets, upstream) : upstream, this.target, { timeoutMs: this.timeoutMs, signal });
      if (signal.aborted) return { deviceId, outcome: 'cancelled' } as const;
      return this.report(deviceId, result, correlationId);
    });
    const count = (o: ProbeOutcome['outcome']) => outcomes.filter((x) => x.outcome === o).length;
    this.deps.logger?.info({
      devices: devices.length,
      online: outcomes.filter((o) => o.outcome === 'reported' && o.result.online).length,
      offline: outcomes.filter((o) => o.outcome === 'reported' && !o.result.online).length,
      retired: count('retired'), cancelled: count('cancelled'), failed: count('failed'),
    }, 'probe pass');
    return outcomes;
  }

  private async report(deviceId: string, result: ProbeResult, correlationId: string): Promise<ProbeOutcome> {
    const data = result.online
      ? { deviceId, online: true, latencyMs: result.latencyMs, ip: result.ip ?? undefined }
      : { deviceId, online: false };
    try {
      const handled = await handleCommand(this.deps, fleetDecider, deviceStreamId(deviceId), { type: 'ReportDeviceHealth', data }, { actor: 'prober', correlationId });
      // a rotation waiting on this device is confirmed once the probe sees a new egress IP (PortIpChanged)
      if (result.online && result.ip) {
        await confirmRotatedIps(this.deps, deviceId, result.ip, { actor: 'prober', correlationId })
          .catch((err: unknown) => this.deps.logger?.error({ err, deviceId }, 'could not confirm rotated IPs'));
      }
      return { deviceId, outcome: 'reported', result, position: handled.position };
    } catch (error) {
      if (error instanceof DomainError && error.code === 'DEVICE_RETIRED') return { deviceId, outcome: 'retired' };
      this.deps.logger?.error({ err: error, deviceId }, 'could not report device health');
      return { deviceId, outcome: 'failed', error: (error as Error).message };
    }
  }

  /** Probes now, then `intervalMs` after each pass ends (passes never overlap). */
  start(intervalMs: number): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      this.current = this.tick()
        .catch((err: unknown) => this.deps.logger?.error({ err }, 'probe pass failed'))
        .finally(() => { if (this.running) this.timer = setTimeout(loop, intervalMs); });
    };
    loop();
  }

  /** Interrupts the running pass (its unfinished probes report nothing) and waits for it to end. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.cancel.abort();
    await this.current;
    this.cancel = new AbortController(); // a later tick() or start() probes normally
  }
}

/** One probe through an upstream (http:// → CONNECT, socks5:// → SOCKS5), within `timeoutMs` overall. */
export async function probe(upstream: string, target: URL, { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }): Promise<ProbeResult> {
  const deadline = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  let socket: net.Socket | undefined;
  try {
    socket = await openProbeTunnel(new URL(upstream), target, deadline, timeoutMs);
    socket.on('error', () => {}); // a reset between tunnel and request surfaces through the request instead
    const { status, body } = await get(socket, target, deadline);
    const latencyMs = Math.round(performance.now() - started);
    return { online: true, latencyMs, ip: status >= 200 && status < 300 ? parseEgressIp(body) : null };
  } catch (error) {
    const reason = deadline.aborted && !signal?.aborted ? `timed out after ${timeoutMs} ms` : (error as Error).message;
    return { online: false, error: reason };
  } finally {
    socket?.destroy();
  }
}

/** The egress IP from an echo: a JSON `{ "ip": "…" }` body or the bare address as text; null otherwise. */
export function parseEgressIp(body: string): string | null {
  const text = body.trim();
  if (net.isIP(text)) return text;
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object' && 'ip' in json && typeof json.ip === 'string' && net.isIP(json.ip.trim())) return json.ip.trim();
  } catch {
    // not JSON and not an address: the target does not echo
  }
  return null;
}

const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1');

function targetPort(target: URL): number {
  return target.port ? Number(target.port) : target.protocol === 'https:' ? 443 : 80;
}

/** The same dialer the gateway's listeners use, so a probe takes exactly the path customer traffic takes. */
async function openProbeTunnel(upstream: URL, target: URL, signal: AbortSignal, timeoutMs: number): Promise<net.Socket> {
  // The probe's deadline (signal) is the one clock: the tunnel's own timer, a little later, only backs it up,
  // so a silent modem always reports "timed out after N ms" rather than whichever timer fired first.
  const opened = await openTunnel({ deviceId: 'probe', url: upstream.toString() }, { host: unbracket(target.hostname), port: targetPort(target) }, { timeoutMs: timeoutMs + 1000, signal });
  if (!opened.ok) throw opened.error;
  const { socket, head } = opened.tunnel;
  if (head.length > 0) socket.unshift(head);
  socket.resume();
  return socket;
}

function get(tunnel: net.Socket, target: URL, signal: AbortSignal): Promise<{ status: number; body: string }> {
  const host = unbracket(target.hostname);
  const socket = target.protocol === 'https:' ? tls.connect({ socket: tunnel, servername: net.isIP(host) ? undefined : host }) : tunnel;
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => socket,
      host,
      port: targetPort(target),
      method: 'GET',
      path: `${target.pathname}${target.search}`,
      headers: { host: target.host, accept: 'application/json, text/plain;q=0.9, */*;q=0.1', 'user-agent': 'proxies-marketplace-prober', connection: 'close' },
      signal,
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      res.on('data', (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) {
          done(); // enough to know it is no echo; the caller destroys the tunnel
          res.destroy();
        }
      });
      res.once('end', done);
      res.on('error', reject);
    });
    req.on('error', reject); // `on`: a destroyed request may report more than once
    req.end();
  });
}

async function abortable<T>(promise: Promise<T>, signal: AbortSignal, dispose: (value: T) => void): Promise<T> {
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } catch (error) {
    promise.then(dispose, () => {}); // arrived after the deadline: close it
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
