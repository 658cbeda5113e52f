import { sessionDecider } from '../../domain/sessions/decide.ts';
import { sessionStreamId, type PortReleased } from '../../domain/sessions/events.ts';
import { slotHolders } from '../../projections/devices.ts';
import { dueForExpiry } from '../../projections/sessions.ts';
import { handleCommand } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { releaseSlot } from './allocation.ts';
import { loadSession } from './session-state.ts';
import { PeriodicTask } from '../periodic.ts';

const ORIGIN = { actor: 'worker', correlationId: 'worker' };
/** A slot whose port never reached its session (a crash between the two appends) is freed after this. */
const ORPHAN_SLOT_AFTER_MS = 5 * 60_000;

/**
 * The worker role: expires sessions whose time is up (SessionExpired + PortReleased, as events) and gives
 * their device slots back; frees slots orphaned by an interrupted allocation. `tick` is one pass, so
 * tests drive it with an injected clock.
 */
export class SessionWorker extends PeriodicTask {

  constructor(private readonly infra: Infrastructure) {
    super(infra.logger, 'worker');
  }

  async tick(): Promise<{ expired: number; orphansFreed: number }> {
    const now = this.infra.clock.now();
    let expired = 0;
    for (const sessionId of await dueForExpiry(this.infra.database.db, now)) {
      const handled = await handleCommand(this.infra, sessionDecider, sessionStreamId(sessionId), { type: 'ExpireSession' }, ORIGIN);
      for (const event of handled.events) {
        if (event.type === 'PortReleased') await releaseSlot(this.infra, (event as PortReleased).data.deviceId, (event as PortReleased).data.portId, ORIGIN);
      }
      if (handled.events.length > 0) expired++;
    }
    const orphansFreed = await this.freeOrphanSlots(now);
    return { expired, orphansFreed };
  }

  private async freeOrphanSlots(now: Date): Promise<number> {
    let freed = 0;
    for (const slot of await slotHolders(this.infra.database.db, new Date(now.getTime() - ORPHAN_SLOT_AFTER_MS))) {
      if (String(slot.session_id).startsWith('account-')) continue; // account ports: src/accounts/worker.ts
      const state = await loadSession(this.infra, slot.session_id as string);
      const port = state.status === 'none' ? undefined : state.ports[slot.port_id as string];
      if (port?.active && port.deviceId === slot.device_id) continue;
      await releaseSlot(this.infra, slot.device_id as string, slot.port_id as string, ORIGIN);
      freed++;
    }
    return freed;
  }
}
