import type { Tier } from '../../domain/pricing/pricing.ts';
import { nextRotationAt, rotationReadiness, type TriggerType } from '../../domain/rotation/rules.ts';
import { checkRotate, sessionDecider } from '../../domain/sessions/decide.ts';
import { sessionStreamId } from '../../domain/sessions/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { countryStock, describeStock, findDevice, type DeviceRow } from '../../projections/devices.ts';
import { findPortByRotationHash, portsAwaitingNewIp, type PortRow } from '../../projections/sessions.ts';
import { handleCommand, type CommandDeps, type CommandOrigin } from '../commands/handle.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { resetDeviceIp } from '../fleet/reset.ts';
import { releaseSlot, takeSlot } from './allocation.ts';
import { sha256Hex } from './secrets.ts';
import { loadSession } from './session-state.ts';

/** Rotations in flight in this process: a second request for the same port waits for no modem. */
const inFlight = new Set<string>();

/**
 * GET /rotate/:token — seed 002 rotation: a shared port switches to another online device in its country
 * (5-minute cooldown); a private port keeps its device and resets its IP by airplane mode through the
 * device's reset URL (1-minute cooldown). A port that never rotated may rotate at once. The rotation is
 * recorded with the old IP; the next probe of the device confirms the new one (PortIpChanged).
 */
export async function rotateByToken(infra: Infrastructure, token: string, origin: CommandOrigin) {
  const port = /^[a-z0-9]{16,64}$/.test(token) ? await findPortByRotationHash(infra.database.db, sha256Hex(token)) : undefined;
  if (!port) throw new DomainError('not_found', 'ROTATION_TOKEN_INVALID', 'no port has this rotation token');
  return rotatePort(infra, port, 'api_token', origin);
}

export async function rotatePort(infra: Infrastructure, port: PortRow, triggerType: TriggerType, origin: CommandOrigin) {
  if (inFlight.has(port.port_id)) throw new DomainError('conflict', 'ROTATION_IN_PROGRESS', 'this port is rotating right now; try again in a few seconds');
  inFlight.add(port.port_id);
  try {
    const started = infra.clock.now().getTime();
    const state = await loadSession(infra, port.session_id);
    const { live, port: current } = checkRotate(state, port.port_id, infra.clock.now()); // cooldown before any slot or modem is touched
    const tier = live.session.tier as Tier;
    const device = await findDevice(infra.database.db, current.deviceId);
    const oldIp = device?.ip ?? null;
    const rotationCount = port.rotations + 1;
    if (tier === 'private') {
      await airplaneMode(infra, device, current.deviceId);
      const handled = await handleCommand(infra, sessionDecider, sessionStreamId(port.session_id), {
        type: 'RotatePort', data: { portId: port.port_id, method: 'airplane_mode', triggerType, toDeviceId: current.deviceId, oldIp },
      }, origin);
      await infra.projector.waitFor(handled.position, ['sessions'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
      const rotatedAt = infra.clock.now().toISOString();
      return {
        success: true, portId: port.port_id, deviceId: current.deviceId, oldIp, rotationDurationMs: infra.clock.now().getTime() - started, rotationCount,
        method: 'airplane_mode', isAirplaneMode: true, rotatedAt, nextRotationAt: nextRotationAt('private', rotatedAt),
        message: 'IP reset triggered via airplane mode. New IP will be available in 10-30 seconds.',
      };
    }
    const toDeviceId = await takeSlot(infra, { portId: port.port_id, sessionId: port.session_id, countryCode: current.countryCode, carrier: null, tier, exclude: [current.deviceId] }, origin);
    if (!toDeviceId) await throwNoOtherDevice(infra, current.countryCode, current.deviceId);
    let handled;
    try {
      handled = await handleCommand(infra, sessionDecider, sessionStreamId(port.session_id), {
        type: 'RotatePort', data: { portId: port.port_id, method: 'device_switch', triggerType, toDeviceId: toDeviceId!, oldIp },
      }, origin);
    } catch (error) {
      await releaseSlot(infra, toDeviceId!, port.port_id, origin);
      throw error;
    }
    await releaseSlot(infra, current.deviceId, port.port_id, origin);
    await infra.projector.waitFor(handled.position, ['sessions', 'devices'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
    const rotatedAt = infra.clock.now().toISOString();
    const newDevice = await findDevice(infra.database.db, toDeviceId!);
    return {
      success: true, portId: port.port_id, oldDeviceId: current.deviceId, newDeviceId: toDeviceId!, oldIp, newIp: newDevice?.ip ?? null,
      rotationDurationMs: infra.clock.now().getTime() - started, rotationCount, method: 'device_switch', rotatedAt,
      nextRotationAt: nextRotationAt('shared', rotatedAt),
      message: 'Port rotated successfully: it moved to another device; the new IP is live within seconds.',
    };
  } finally {
    inFlight.delete(port.port_id);
  }
}

/** Seed 002 can-rotate: cooldown state, and for shared ports how many other devices could take it. */
export async function canRotate(infra: Infrastructure, port: PortRow, tier: Tier) {
  const readiness = rotationReadiness(tier, port.last_rotated_at === null ? null : new Date(port.last_rotated_at).toISOString(), infra.clock.now());
  if (!readiness.canRotate) return readiness;
  if (tier === 'private') return { canRotate: true, method: 'airplane_mode' };
  const stock = await countryStock(infra.database.db, { countryCode: port.country_code, tier, exclude: [port.device_id] });
  return { canRotate: stock.free > 0, method: 'device_switch', availableDevices: stock.free };
}

async function airplaneMode(infra: Infrastructure, device: DeviceRow | undefined, deviceId: string): Promise<void> {
  if (!device || device.status !== 'active') throw new DomainError('conflict', 'DEVICE_RETIRED', `the port's device ${deviceId} is retired; replace the port`);
  if (!device.reset_url) {
    throw new DomainError('conflict', 'RESET_UNAVAILABLE', 'private ports rotate by airplane mode, and this port\'s device has no IP-reset endpoint (resetUrl); ask the operator to register one', { deviceId });
  }
  await resetDeviceIp(infra.secrets, device.reset_url, deviceId);
}

/** With no other device free, say why: none at all (one modem), or the others full or offline. */
async function throwNoOtherDevice(infra: Infrastructure, countryCode: string, currentDeviceId: string): Promise<never> {
  const stock = await countryStock(infra.database.db, { countryCode, tier: 'shared', exclude: [currentDeviceId] });
  if (stock.devices === 0) {
    throw new DomainError('conflict', 'NO_OTHER_DEVICE', `shared ports rotate by switching to another device, and ${countryCode} has no other shared device; the port keeps its device and IP. Private ports rotate by airplane mode on their own device.`, {
      country: countryCode, otherDevices: 0,
    });
  }
  const { reason, summary } = describeStock(stock);
  throw new DomainError('unavailable', 'NO_STOCK', `no other device is free in ${countryCode} right now (${summary}); try again later`, {
    country: countryCode, reason, ...stock,
  });
}

/**
 * After a probe of `deviceId` saw `ip`: ports on it whose rotation is pending get PortIpChanged when the
 * IP really changed (the session decider decides). Called by the gateway's prober.
 */
export async function confirmRotatedIps(deps: CommandDeps & { db: Infrastructure['database']['db'] }, deviceId: string, ip: string, origin: CommandOrigin): Promise<number> {
  let confirmed = 0;
  for (const p of await portsAwaitingNewIp(deps.db, deviceId)) {
    const handled = await handleCommand(deps, sessionDecider, sessionStreamId(p.session_id), { type: 'ConfirmPortIp', data: { portId: p.port_id, deviceId, newIp: ip } }, origin);
    confirmed += handled.events.length;
  }
  return confirmed;
}
