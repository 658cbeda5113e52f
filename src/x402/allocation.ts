import { WrongExpectedVersion } from '../../adapters/eventstore/port.ts';
import { fleetDecider } from '../../domain/fleet/decide.ts';
import { deviceStreamId } from '../../domain/fleet/events.ts';
import type { Tier } from '../../domain/pricing/pricing.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { freeDevices, type FreeDevice } from '../../projections/devices.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';

export interface SlotRequest {
  portId: string;
  sessionId: string;
  countryCode: string;
  carrier: string | null;
  tier: Tier;
  exclude?: string[];
  /** Devices the caller read from the read model just before (the stock check): the first round tries them. */
  candidates?: readonly FreeDevice[];
}

/**
 * Takes a slot on some device with room. The read model proposes candidates; each device's own
 * stream decides (its slot count is enforced there), so two buyers can never overfill a device.
 * Returns the device id, or null when no device in the country (and carrier) has room.
 */
export async function takeSlot(infra: Infrastructure, request: SlotRequest, origin: CommandOrigin): Promise<string | null> {
  const tried = new Set(request.exclude ?? []);
  const claiming = claimsInFlight(infra);
  for (let round = 0; round < 3; round++) {
    const candidates = round === 0 && request.candidates ? request.candidates.filter((c) => !tried.has(c.device_id)) : await freeDevices(infra.database.db, { ...request, exclude: [...tried] });
    if (candidates.length === 0) return null;
    // Concurrent buyers all see the same best device and would race on its stream (each loser reloads and
    // retries): a device another purchase in this process is claiming right now goes last. A stable sort, so
    // the ranking (most free, then lowest latency) holds among the rest.
    const ordered = [...candidates].sort((a, b) => (claiming.get(a.device_id) ?? 0) - (claiming.get(b.device_id) ?? 0));
    for (const candidate of ordered) {
      tried.add(candidate.device_id);
      claiming.set(candidate.device_id, (claiming.get(candidate.device_id) ?? 0) + 1);
      try {
        await handleCommand(infra, fleetDecider, deviceStreamId(candidate.device_id), {
          type: 'AllocateSlot', data: { deviceId: candidate.device_id, portId: request.portId, sessionId: request.sessionId, tier: request.tier },
        }, origin);
        return candidate.device_id;
      } catch (error) {
        // full, offline or retired since the read model last looked, or too contended: try the next one
        if (error instanceof DomainError || error instanceof WrongExpectedVersion) continue;
        throw error;
      } finally {
        const left = claiming.get(candidate.device_id)! - 1;
        if (left === 0) claiming.delete(candidate.device_id);
        else claiming.set(candidate.device_id, left);
      }
    }
  }
  return null;
}

const inFlight = new WeakMap<Infrastructure, Map<string, number>>();
/** Slot claims under way in this process, per device. */
function claimsInFlight(infra: Infrastructure): Map<string, number> {
  let claims = inFlight.get(infra);
  if (!claims) inFlight.set(infra, (claims = new Map()));
  return claims;
}

export async function releaseSlot(infra: Infrastructure, deviceId: string, portId: string, origin: CommandOrigin): Promise<void> {
  await handleCommand(infra, fleetDecider, deviceStreamId(deviceId), { type: 'ReleaseSlot', data: { deviceId, portId } }, origin);
}
