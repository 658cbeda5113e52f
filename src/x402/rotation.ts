import type { Tier } from '../../domain/pricing/pricing.ts';
import { checkRotate, SHARED_ROTATION_COOLDOWN_SECONDS, sessionDecider } from '../../domain/sessions/decide.ts';
import { sessionStreamId } from '../../domain/sessions/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { findPortByRotationHash } from '../../projections/sessions.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { releaseSlot, takeSlot } from './allocation.ts';
import { sha256Hex } from './secrets.ts';
import { loadSession } from './session-state.ts';

/**
 * GET /rotate/:token — the port moves to another online device in the same country, which gives it a
 * new IP. The cooldown is checked before a slot is taken; the old slot is given back afterwards.
 */
export async function rotateByToken(infra: Infrastructure, token: string, origin: CommandOrigin) {
  const port = /^[a-z0-9]{16,64}$/.test(token) ? await findPortByRotationHash(infra.database.db, sha256Hex(token)) : undefined;
  if (!port) throw new DomainError('not_found', 'ROTATION_TOKEN_INVALID', 'no port has this rotation token');
  const state = await loadSession(infra, port.session_id);
  const { live, port: current } = checkRotate(state, port.port_id, infra.clock.now());
  const tier = live.session.tier as Tier;
  const toDeviceId = await takeSlot(infra, { portId: port.port_id, sessionId: port.session_id, countryCode: current.countryCode, carrier: null, tier, exclude: [current.deviceId] }, origin);
  if (!toDeviceId) throw new DomainError('unavailable', 'NO_STOCK', `no other device is online in ${current.countryCode} right now; try again later`, { country: current.countryCode });
  let handled;
  try {
    handled = await handleCommand(infra, sessionDecider, sessionStreamId(port.session_id), { type: 'RotatePort', data: { portId: port.port_id, toDeviceId } }, origin);
  } catch (error) {
    await releaseSlot(infra, toDeviceId, port.port_id, origin);
    throw error;
  }
  await releaseSlot(infra, current.deviceId, port.port_id, origin);
  await infra.projector.waitFor(handled.position, ['sessions', 'devices'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  const rotatedAt = infra.clock.now();
  return {
    success: true,
    portId: port.port_id,
    rotatedAt: rotatedAt.toISOString(),
    nextRotationAt: new Date(rotatedAt.getTime() + (tier === 'shared' ? SHARED_ROTATION_COOLDOWN_SECONDS * 1000 : 0)).toISOString(),
    message: 'The port moved to another device; the new IP is live within seconds.',
  };
}
