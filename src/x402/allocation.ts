import { WrongExpectedVersion } from '../../adapters/eventstore/port.ts';
import { fleetDecider } from '../../domain/fleet/decide.ts';
import { deviceStreamId } from '../../domain/fleet/events.ts';
import type { Tier } from '../../domain/pricing/pricing.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { freeDevices } from '../../projections/devices.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';

export interface SlotRequest {
  portId: string;
  sessionId: string;
  countryCode: string;
  carrier: string | null;
  tier: Tier;
  exclude?: string[];
}

/**
 * Takes a slot on some device with room. The read model proposes candidates; each device's own
 * stream decides (its slot count is enforced there), so two buyers can never overfill a device.
 * Returns the device id, or null when no device in the country (and carrier) has room.
 */
export async function takeSlot(infra: Infrastructure, request: SlotRequest, origin: CommandOrigin): Promise<string | null> {
  const tried = new Set(request.exclude ?? []);
  for (let round = 0; round < 3; round++) {
    const candidates = await freeDevices(infra.database.db, { ...request, exclude: [...tried] });
    if (candidates.length === 0) return null;
    for (const candidate of candidates) {
      tried.add(candidate.device_id);
      try {
        await handleCommand(infra, fleetDecider, deviceStreamId(candidate.device_id), {
          type: 'AllocateSlot', data: { deviceId: candidate.device_id, portId: request.portId, sessionId: request.sessionId, tier: request.tier },
        }, origin);
        return candidate.device_id;
      } catch (error) {
        // full, offline or retired since the read model last looked, or too contended: try the next one
        if (error instanceof DomainError || error instanceof WrongExpectedVersion) continue;
        throw error;
      }
    }
  }
  return null;
}

export async function releaseSlot(infra: Infrastructure, deviceId: string, portId: string, origin: CommandOrigin): Promise<void> {
  await handleCommand(infra, fleetDecider, deviceStreamId(deviceId), { type: 'ReleaseSlot', data: { deviceId, portId } }, origin);
}
