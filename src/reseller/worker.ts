import { poolKeysToSuspend } from '../../projections/pool-keys.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { suspendPoolKey } from './keys.ts';

/**
 * Suspends enabled pak_ keys whose usage reached the cap or whose expiry passed (the gateway does
 * the same the moment it cuts a key at its cap; the decider makes either one a no-op afterwards).
 */
export class PoolKeyWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly infra: Infrastructure) {}

  start(intervalMs: number): void {
    const loop = () => {
      this.running = this.tick().catch((err) => this.infra.logger.error({ err }, 'pool-key worker pass failed'));
      this.running.finally(() => { if (this.timer) this.timer = setTimeout(loop, intervalMs); });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async tick(): Promise<number> {
    let suspended = 0;
    for (const row of await poolKeysToSuspend(this.infra.database.db, this.infra.clock.now())) {
      const used = BigInt(row.traffic_used_bytes);
      const atCap = row.traffic_cap_bytes !== null && used >= BigInt(row.traffic_cap_bytes);
      if (await suspendPoolKey(this.infra, row.key_id, atCap ? 'cap_exceeded' : 'expired', used)) suspended++;
    }
    return suspended;
  }
}
