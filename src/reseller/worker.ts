import { poolKeysToSuspend } from '../../projections/pool-keys.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { suspendPoolKey } from './keys.ts';
import { PeriodicTask } from '../periodic.ts';

/**
 * Suspends enabled pak_ keys whose usage reached the cap or whose expiry passed (the gateway does
 * the same the moment it cuts a key at its cap; the decider makes either one a no-op afterwards).
 */
export class PoolKeyWorker extends PeriodicTask {

  constructor(private readonly infra: Infrastructure) {
    super(infra.logger, 'pool-key worker');
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
