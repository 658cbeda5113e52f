import { performance } from 'node:perf_hooks';
import { objectId } from '../../adapters/ids.ts';
import { countryName } from '../../domain/fleet/countries.ts';
import { accountPortDecider, checkCooldown } from '../../domain/ports/decide.ts';
import { accountPortStreamId, type TriggerType } from '../../domain/ports/events.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { findDevice } from '../../projections/devices.ts';
import type { AccountPortRow } from '../../projections/account-ports.ts';
import type { CommandOrigin } from '../commands/handle.ts';
import { releaseSlot } from '../x402/allocation.ts';
import { resetDeviceIp } from '../fleet/reset.ts';
import type { AccountsContext } from './context.ts';
import { fleetPlaces, placeOnFleet, runPortCommand } from './ports.ts';

async function loadPort(ctx: AccountsContext, portId: string) {
  let state = accountPortDecider.initialState();
  for await (const e of ctx.infra.store.readStream(accountPortStreamId(portId))) state = accountPortDecider.evolve(state, e as never);
  return state;
}

/** GET /v1/ports/:id/can-rotate */
export async function canRotate(ctx: AccountsContext, port: AccountPortRow) {
  const now = ctx.infra.clock.now();
  try {
    checkCooldown(await loadPort(ctx, port.port_id), now);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'ROTATION_COOLDOWN') {
      return { canRotate: false, reason: error.message, nextRotationAt: error.details.nextRotationAt, cooldownRemaining: error.details.cooldownRemaining };
    }
    throw error;
  }
  const places = await fleetPlaces(ctx.infra.database.db, port.country_code);
  const free = await ctx.infra.database.db.selectFrom('fleet_devices').select('device_id')
    .where('country_code', '=', port.country_code).where('status', '=', 'active').where('online', '=', true)
    .where(port.slot_type === 'private' ? 'tier_private' : 'tier_shared', '=', true).whereRef('allocated_slots', '<', 'slots').execute();
  const availableDevices = port.slot_type === 'private' ? 1 : free.filter((d) => d.device_id !== port.device_id && places.some((p) => p.deviceId === d.device_id)).length;
  return { canRotate: availableDevices > 0, availableDevices, ...(availableDevices === 0 ? { reason: `no other free device in ${port.country_code} right now` } : {}) };
}

/**
 * Rotation of an account port. Shared: the port moves to another device in its country (matchCarrier /
 * matchCity honoured), new slot first, old slot freed after. Private: the device keeps the port and its
 * modem is reset by airplane mode (the IP changes on the device within 10-30 s). Cooldowns: 5 min / 1 min.
 * A rotation that finds no device is recorded as failed (history shows it) and answers 503.
 */
export async function rotatePort(ctx: AccountsContext, port: AccountPortRow, triggerType: TriggerType, origin: CommandOrigin) {
  const started = performance.now();
  const state = await loadPort(ctx, port.port_id);
  const live = checkCooldown(state, ctx.infra.clock.now());
  const from = await findDevice(ctx.infra.database.db, live.placement.deviceId);
  const fromIp = from?.ip ?? null;
  const country = countryName(live.placement.countryCode) ?? live.placement.countryCode;
  const rotationId = objectId(ctx.infra.clock.now().getTime());
  if (live.slotType === 'private') {
    // airplane mode through the modem farm's reset endpoint (the fleet's rule for private ports)
    if (!from || from.status !== 'active') throw new DomainError('conflict', 'DEVICE_RETIRED', 'the port\'s device is retired; reconfigure the port');
    if (!from.reset_url) throw new DomainError('conflict', 'RESET_UNAVAILABLE', 'private ports rotate by airplane mode, and this port\'s device has no IP-reset endpoint (resetUrl)', { deviceId: from.device_id });
    await resetDeviceIp(ctx.infra.secrets, from.reset_url, from.device_id);
    const handled = await runPortCommand(ctx, port.port_id, {
      type: 'RecordRotation',
      data: { rotationId, triggerType, toDeviceId: live.placement.deviceId, fromIp, toIp: null, rotationDurationMs: Math.round(performance.now() - started), country, carrier: from?.carrier_brand ?? null },
    }, origin);
    const e = handled.events[0]!;
    return {
      success: true, portId: port.port_id, oldIp: fromIp, rotationDurationMs: e.type === 'AccountPortRotated' ? e.data.rotationDurationMs : 0,
      message: 'IP reset triggered via airplane mode. New IP will be available in 10-30 seconds.', isAirplaneMode: true, rotationCount: live.rotationCount + 1,
    };
  }
  const placed = await placeOnFleet(ctx, port.account_id, port.port_id, {
    countryCode: live.placement.countryCode, slotType: 'shared', exclude: [live.placement.deviceId],
    carrierId: port.match_carrier ? live.placement.carrierId : null, cityId: port.match_city ? live.placement.cityId : null,
  }, origin).catch((error) => { if (error instanceof DomainError && error.kind === 'not_found') return null; throw error; });
  if (!placed) {
    await runPortCommand(ctx, port.port_id, { type: 'RecordRotationFailure', data: { rotationId, triggerType, fromIp, reason: 'no other device with a free slot', country, carrier: from?.carrier_brand ?? null } }, origin);
    throw new DomainError('unavailable', 'NO_STOCK', `no other device is free in ${live.placement.countryCode} right now; try again later`, { country: live.placement.countryCode });
  }
  const to = await findDevice(ctx.infra.database.db, placed.deviceId);
  const rotationDurationMs = Math.round(performance.now() - started);
  try {
    await runPortCommand(ctx, port.port_id, {
      type: 'RecordRotation',
      data: { rotationId, triggerType, toDeviceId: placed.deviceId, fromIp, toIp: to?.ip ?? null, rotationDurationMs, country, carrier: to?.carrier_brand ?? null },
    }, origin);
  } catch (error) {
    await releaseSlot(ctx.infra, placed.deviceId, port.port_id, origin);
    throw error;
  }
  await releaseSlot(ctx.infra, live.placement.deviceId, port.port_id, origin);
  ctx.infra.events.emit('account-port-changed', port.port_id);
  return {
    success: true, portId: port.port_id, oldDeviceId: live.placement.deviceId, newDeviceId: placed.deviceId, oldIp: fromIp, newIp: to?.ip ?? null,
    rotationDurationMs, rotationCount: live.rotationCount + 1, message: 'Port rotated successfully',
  };
}

