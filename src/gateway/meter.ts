import { trafficStreamId, type AccountKind, type TrafficMetered } from '../../domain/traffic/metered.ts';
import type { Infrastructure } from '../infrastructure.ts';

interface Pending {
  kind: AccountKind;
  id: string;
  up: number;
  down: number;
  connections: number;
  from: Date;
  /** The account whose traffic these bytes also spend (a pak_ key's reseller). */
  payer: string | undefined;
}

/**
 * Sums bytes per account and appends one TrafficMetered per account per flush (every few seconds,
 * and when asked on close) — never an event per chunk. `unflushed` lets balance checks count bytes
 * the read model has not seen yet.
 */
export class TrafficMeter {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly infra: Infrastructure, private readonly gatewayId: string) {}

  add(kind: AccountKind, id: string, up: number, down: number, newConnections = 0, payer?: string): void {
    const key = `${kind}-${id}`;
    const p = this.pending.get(key) ?? { kind, id, up: 0, down: 0, connections: 0, from: this.infra.clock.now(), payer };
    p.up += up;
    p.down += down;
    p.connections += newConnections;
    this.pending.set(key, p);
  }

  unflushed(kind: AccountKind, id: string): bigint {
    const p = this.pending.get(`${kind}-${id}`);
    return p ? BigInt(p.up + p.down) : 0n;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Appends what is pending; bytes of a failed append are put back and retried next time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = [...this.pending.values()].filter((p) => p.up > 0 || p.down > 0 || p.connections > 0);
      this.pending = new Map();
      const to = this.infra.clock.now().toISOString();
      await Promise.all(batch.map(async (p) => {
        const event: TrafficMetered = {
          type: 'TrafficMetered',
          data: { accountKind: p.kind, accountId: p.id, bytesUp: String(p.up), bytesDown: String(p.down), connections: p.connections, from: p.from.toISOString(), to, gateway: this.gatewayId, ...(p.payer ? { payerAccountId: p.payer } : {}) },
        };
        try {
          await this.infra.store.append(trafficStreamId(p.kind, p.id), [{ ...event, metadata: { correlationId: this.gatewayId, causationId: null, actor: 'gateway', occurredAt: to } }], { expectedRevision: 'any' });
        } catch (err) {
          this.infra.logger.error({ err, account: p.id }, 'traffic flush failed; will retry');
          this.add(p.kind, p.id, p.up, p.down, p.connections, p.payer);
        }
      }));
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
