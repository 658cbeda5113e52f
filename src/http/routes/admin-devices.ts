import { Router } from 'express';
import { adminAuthGuard, requireAdminKey } from '../admin-auth.ts';
import { z } from 'zod';
import { uuidv7 } from '../../../adapters/ids.ts';
import { fleetDecider, type FleetCommand } from '../../../domain/fleet/decide.ts';
import { deviceStreamId } from '../../../domain/fleet/events.ts';
import type { DeviceState } from '../../../domain/fleet/state.ts';
import { findDevice, listDevices, type DeviceRow, type SlotRow } from '../../../projections/devices.ts';
import { handleCommand } from '../../commands/handle.ts';
import type { Infrastructure } from '../../infrastructure.ts';
import { ApiError } from '../errors.ts';
import { sealResetUrl, sealUpstream } from '../../fleet/secrets.ts';
import { maskUpstream } from '../../../domain/fleet/upstream.ts';
import { parse } from '../validate.ts';
import { EXAMPLE_TIME, EXAMPLE_UUID, errors, isoDate } from '../openapi/common.ts';
import { documentRoutes } from '../openapi/registry.ts';

const text = (max: number) => z.string().trim().min(1).max(max);
const registerBody = z.strictObject({
  name: text(100),
  countryCode: z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code'),
  carrier: z.strictObject({
    name: text(100),
    brand: text(100),
    mcc: z.string().regex(/^\d{3}$/, 'must be 3 digits').optional(),
    mnc: z.string().regex(/^\d{2,3}$/, 'must be 2 or 3 digits').optional(),
    technology: text(20).optional(),
  }),
  region: text(100).optional(),
  city: text(100).optional(),
  upstream: text(500),
  /** The modem farm's IP-reset URL (airplane mode) with its own credentials; private rotations call it. */
  resetUrl: text(2000).optional(),
  slots: z.number().int().min(1).max(64).optional(),
  tiers: z.array(z.enum(['shared', 'private'])).min(1).optional(),
});
const healthBody = z.strictObject({
  online: z.boolean(),
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
});
const deviceId = z.string().regex(/^[\w-]{1,64}$/, 'is not a device id');
const listQuery = z.strictObject({
  country: z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code').optional(),
  status: z.enum(['online', 'offline', 'retired']).optional(),
  tier: z.enum(['shared', 'private']).optional(),
  hasFreeSlots: z.enum(['true', 'false']).optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,120}$/, 'is not a cursor from a previous page').optional(),
  limit: z.string().regex(/^\d{1,3}$/, 'must be a whole number from 1 to 200').transform(Number).pipe(z.number().int().min(1, 'must be 1 to 200').max(200, 'must be 1 to 200')).optional(),
});

const deviceBody = z.object({
  id: z.string(), name: z.string(), countryCode: z.string(),
  carrier: z.object({ name: z.string(), brand: z.string(), mcc: z.string().nullable().optional(), mnc: z.string().nullable().optional(), technology: z.string().nullable().optional() }),
  region: z.string().nullable().optional(), city: z.string().nullable().optional(), upstream: z.string(), slots: z.number().int(), allocatedSlots: z.number().int(),
  tiers: z.array(z.enum(['shared', 'private'])), status: z.enum(['online', 'offline', 'retired']), latencyMs: z.number().nullable(), ip: z.string().nullable(),
  lastHealthAt: isoDate.nullable(), registeredAt: isoDate.nullable(), retiredAt: isoDate.nullable(),
  resetEndpoint: z.string().nullable().optional(),
}).meta({ id: 'Device' });
const listedDevice = deviceBody.extend({
  freeSlots: z.object({ shared: z.number().int(), private: z.number().int() }),
  ports: z.array(z.object({ portId: z.string(), sessionId: z.string().optional(), accountId: z.string().optional(), tier: z.enum(['shared', 'private']), allocatedAt: isoDate })),
  lastHealth: z.object({ online: z.boolean(), latencyMs: z.number().nullable(), ip: z.string().nullable(), at: isoDate }).nullable(),
}).meta({ id: 'ListedDevice' });
const deviceList = z.object({ devices: z.array(listedDevice), nextCursor: z.string().nullable() }).meta({ id: 'DeviceList' });
const deviceExample = {
  id: EXAMPLE_UUID, name: 'modem-001', countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile', mcc: '310', mnc: '260', technology: null },
  region: null, city: 'New York', upstream: 'http://user:****@10.0.0.5:8080', slots: 2, allocatedSlots: 0, tiers: ['shared', 'private'], status: 'online',
  latencyMs: null, ip: null, lastHealthAt: null, registeredAt: EXAMPLE_TIME, retiredAt: null,
};
const security = ['adminKey' as const];
const tag = 'Admin: fleet';
const idParams = z.object({ id: deviceId });
const adminErrors = errors({ 401: ['ADMIN_KEY_REQUIRED', 'ADMIN_KEY_INVALID', 'ADMIN_DISABLED'] });
documentRoutes(
  { method: 'get', path: '/v1/admin/devices', tag, security, summary: 'List devices (filters, cursor pagination), with their slots, ports and last health', query: listQuery,
    responses: {
      200: { description: 'One page; pass nextCursor as cursor for the next', schema: deviceList, example: {
        devices: [{ ...deviceExample, allocatedSlots: 1, freeSlots: { shared: 1, private: 0 }, ports: [{ portId: EXAMPLE_UUID, sessionId: EXAMPLE_UUID, tier: 'shared', allocatedAt: EXAMPLE_TIME }], lastHealth: null }],
        nextCursor: null,
      } },
      ...errors({ 400: 'VALIDATION_ERROR' }), ...adminErrors,
    } },
  { method: 'post', path: '/v1/admin/devices', tag, security, summary: 'Register a modem', body: registerBody,
    bodyExample: { name: 'modem-001', countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream: 'http://user:pass@10.0.0.5:8080', slots: 2 },
    responses: { 201: { description: 'Registered', schema: deviceBody, example: deviceExample }, ...errors({ 400: ['VALIDATION_ERROR', 'INVALID_COUNTRY', 'INVALID_UPSTREAM'], 409: 'DEVICE_EXISTS' }), ...adminErrors } },
  { method: 'get', path: '/v1/admin/devices/:id', tag, security, summary: 'A device as the read model has it', params: idParams,
    responses: { 200: { description: 'The device', schema: deviceBody, example: deviceExample }, ...errors({ 404: 'DEVICE_NOT_FOUND' }), ...adminErrors } },
  { method: 'post', path: '/v1/admin/devices/:id/health', tag, security, summary: 'Report a device online or offline', params: idParams, body: healthBody,
    bodyExample: { online: false },
    responses: { 200: { description: 'The device after the report', schema: deviceBody, example: { ...deviceExample, status: 'offline' } }, ...errors({ 404: 'DEVICE_NOT_FOUND', 409: 'DEVICE_RETIRED' }), ...adminErrors } },
  { method: 'delete', path: '/v1/admin/devices/:id', tag, security, summary: 'Retire a device', params: idParams,
    responses: { 200: { description: 'Retired', schema: deviceBody, example: { ...deviceExample, status: 'retired', retiredAt: EXAMPLE_TIME } }, ...errors({ 404: 'DEVICE_NOT_FOUND' }), ...adminErrors } },
);

/** Operators' fleet management, behind X-Admin-Key. */
export function adminDevicesRouter(infra: Infrastructure): Router {
  const router = Router();
  router.use(requireAdminKey(infra.config.ADMIN_API_KEY, adminAuthGuard(infra)));

  const run = async (id: string, command: FleetCommand, actor: string, correlationId: string) => {
    const result = await handleCommand(infra, fleetDecider, deviceStreamId(id), command, { actor, correlationId });
    // Read-your-writes: the next GET (countries, device) sees this change, and so do the pool's stock and routing (pool-scores).
    if (result.position > 0n) await infra.projector.waitFor(result.position, ['devices', 'pool-scores'], infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
    return result.state;
  };

  router.post('/', async (req, res) => {
    const { upstream, resetUrl, ...body } = parse(registerBody, req.body);
    const id = uuidv7(infra.clock.now().getTime());
    // secrets are sealed here, before the command: the event never holds them in clear
    const sealed = { upstream: sealUpstream(infra.secrets, upstream), ...(resetUrl ? sealResetUrl(infra.secrets, resetUrl) : {}) };
    const state = await run(id, { type: 'RegisterDevice', data: { deviceId: id, ...body, ...sealed } }, 'admin', req.id);
    res.status(201).json(viewFromState(state, (await findDevice(infra.database.db, id)) ?? null));
  });

  router.get('/', async (req, res) => {
    const q = parse(listQuery, req.query);
    const limit = q.limit ?? 50;
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const page = await listDevices(infra.database.db, {
      countryCode: q.country?.toUpperCase(), status: q.status, tier: q.tier, hasFreeSlots: q.hasFreeSlots === undefined ? undefined : q.hasFreeSlots === 'true', after, limit,
    });
    const last = page.devices.at(-1);
    res.json({
      devices: page.devices.map((d) => listedView(d, page.slots.filter((s) => s.device_id === d.device_id))),
      nextCursor: page.more && last ? Buffer.from(last.device_id).toString('base64url') : null,
    });
  });

  router.get('/:id', async (req, res) => {
    const id = parse(deviceId, req.params.id);
    const row = await findDevice(infra.database.db, id);
    if (!row) throw new ApiError(404, 'DEVICE_NOT_FOUND', `device ${id} is not registered`);
    res.json(viewFromRow(row));
  });

  router.post('/:id/health', async (req, res) => {
    const id = parse(deviceId, req.params.id);
    const body = parse(healthBody, req.body);
    const state = await run(id, { type: 'ReportDeviceHealth', data: { deviceId: id, ...body } }, 'admin', req.id);
    res.json(viewFromState(state, (await findDevice(infra.database.db, id)) ?? null));
  });

  router.delete('/:id', async (req, res) => {
    const id = parse(deviceId, req.params.id);
    await run(id, { type: 'RetireDevice', data: { deviceId: id } }, 'admin', req.id);
    const row = await findDevice(infra.database.db, id);
    res.json(row ? viewFromRow(row) : { id, status: 'retired' });
  });

  return router;
}

/** Kept here for the routes that import it from this file. */
export { requireAdminKey } from '../admin-auth.ts';

const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());

function viewFromRow(row: DeviceRow) {
  return {
    id: row.device_id,
    name: row.name,
    countryCode: row.country_code,
    carrier: { name: row.carrier_name, brand: row.carrier_brand, mcc: row.mcc, mnc: row.mnc, technology: row.technology },
    region: row.region,
    city: row.city,
    upstream: maskUpstream(row.upstream),
    resetEndpoint: row.reset_endpoint,
    slots: row.slots,
    allocatedSlots: row.allocated_slots,
    tiers: [...(row.tier_shared ? ['shared'] : []), ...(row.tier_private ? ['private'] : [])],
    status: row.status === 'retired' ? 'retired' : row.online ? 'online' : 'offline',
    latencyMs: row.latency_ms,
    ip: row.ip,
    lastHealthAt: iso(row.last_health_at),
    registeredAt: iso(row.registered_at),
    retiredAt: iso(row.retired_at),
  };
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[\w-]{1,64}$/.test(id)) throw new ApiError(400, 'VALIDATION_ERROR', 'cursor: is not a cursor from a previous page', { issues: [{ path: 'cursor', message: 'is not a cursor from a previous page' }] });
  return id;
}

/** A device in the list: its view, free slots per tier (a private port takes the whole device), ports and last health. */
function listedView(row: DeviceRow, slots: SlotRow[]) {
  const usable = row.status === 'active' && row.online;
  const heldPrivately = slots.some((s) => s.tier === 'private');
  return {
    ...viewFromRow(row),
    freeSlots: {
      shared: usable && row.tier_shared && !heldPrivately ? Math.max(0, row.slots - slots.length) : 0,
      private: usable && row.tier_private && slots.length === 0 ? 1 : 0,
    },
    ports: slots.map((s) => ({ portId: s.port_id, ...(s.holder_kind === 'account' ? { accountId: s.session_id } : { sessionId: s.session_id }), tier: s.tier, allocatedAt: iso(s.allocated_at)! })),
    lastHealth: row.last_health_at === null ? null : { online: row.online, latencyMs: row.latency_ms, ip: row.ip, at: iso(row.last_health_at)! },
  };
}

/** The decision's own view, used when the read model has not caught up within the wait. */
function viewFromState(state: DeviceState, row: DeviceRow | null) {
  if (row) return viewFromRow(row);
  if (state.status !== 'active') throw new ApiError(500, 'INTERNAL', 'device state unavailable');
  const d = state.device;
  return {
    id: d.deviceId, name: d.name, countryCode: d.countryCode, carrier: d.carrier, region: d.region, city: d.city,
    upstream: maskUpstream(d.upstream), resetEndpoint: d.resetEndpoint ?? null, slots: d.slots, allocatedSlots: 0, tiers: d.tiers,
    status: state.online ? 'online' : 'offline', latencyMs: null, ip: null, lastHealthAt: state.lastReportAt,
    registeredAt: d.registeredAt, retiredAt: null,
  };
}
