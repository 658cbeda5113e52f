import { uuidv7 } from '../../adapters/ids.ts';
import type { Tier } from '../../domain/pricing/pricing.ts';
import { sessionDecider, type NewPort, type SessionCommand } from '../../domain/sessions/decide.ts';
import { sessionStreamId } from '../../domain/sessions/events.ts';
import { handleCommand, type CommandOrigin, type Handled } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';
import type { FreeDevice } from '../../projections/devices.ts';
import { releaseSlot, takeSlot } from './allocation.ts';
import { newPortCredentials, sha256Hex, type PortCredentials } from './secrets.ts';

export interface AllocatedPort {
  portId: string;
  deviceId: string;
  credentials: PortCredentials;
  position: bigint;
}

/**
 * Takes a device slot, then records the port on the session with `command` (AllocatePort, ReplacePort
 * or RecreatePort). If the session refuses, the slot is given back. Returns null when no device has room.
 */
export async function placePort(
  infra: Infrastructure,
  target: { sessionId: string; countryCode: string; carrier: string | null; tier: Tier; exclude?: string[]; candidates?: readonly FreeDevice[] },
  command: (port: NewPort) => SessionCommand,
  origin: CommandOrigin,
): Promise<AllocatedPort | null> {
  const portId = uuidv7(infra.clock.now().getTime());
  const deviceId = await takeSlot(infra, { portId, ...target }, origin);
  if (!deviceId) return null;
  const credentials = newPortCredentials();
  const port: NewPort = {
    portId, deviceId, countryCode: target.countryCode, username: credentials.username,
    passwordHash: sha256Hex(credentials.password), rotationTokenHash: sha256Hex(credentials.rotationToken),
  };
  let handled: Handled<unknown, unknown>;
  try {
    handled = await handleCommand(infra, sessionDecider, sessionStreamId(target.sessionId), command(port), origin);
  } catch (error) {
    await releaseSlot(infra, deviceId, portId, origin);
    throw error;
  }
  return { portId, deviceId, credentials, position: handled.position };
}
