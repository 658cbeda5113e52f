import { Router, type Request } from 'express';
import { z } from 'zod';
import { OS_FINGERPRINT_VALUES, OS_FINGERPRINTS } from '../../../domain/ports/events.ts';
import { resolveCountry } from '../../../domain/reference/countries.ts';
import { countryName } from '../../../domain/fleet/countries.ts';
import { findDevice } from '../../../projections/devices.ts';
import { openUpstream } from '../../fleet/secrets.ts';
import { findAccountPort, listAccountPorts } from '../../../projections/account-ports.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import { pingThrough, speedTestThrough } from '../../accounts/port-checks.ts';
import { suspendedPortIds } from '../../accounts/suspension.ts';
import { changeCredentials, createPort, deletePort, ownPort, reconfigurePort, runPortCommand } from '../../accounts/ports.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { devicesById, healthOf, portView } from '../account-port-views.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';

const id24 = z.string().regex(/^[a-f0-9]{24}$/, 'is not an id');
const countryField = z.string().trim().min(2).max(24).meta({ description: 'country _id or ISO code (DE, DEU)' });
export const createPortBody = z.object({
  countryId: countryField,
  expiresAt: z.coerce.number().int().min(3600).max(31 * 86400).meta({ description: 'lifetime in seconds (86400 = 24 h)' }),
  carrierId: id24.optional(), cityId: id24.optional(),
  osFingerprint: z.enum(OS_FINGERPRINT_VALUES as [string, ...string[]]).optional(),
  type: z.enum(['shared', 'private']).optional(),
  isPrivate: z.boolean().optional().meta({ description: 'the official MCP server\'s way of saying type: private' }),
}).refine((b) => b.type === undefined || b.isPrivate === undefined || (b.type === 'private') === b.isPrivate, { message: 'type and isPrivate disagree', path: ['isPrivate'] });
export const listPortsQuery = z.object({
  type: z.enum(['shared', 'private']).optional(), status: z.enum(['active', 'suspended', 'expired']).optional(),
  countryId: countryField.optional(), carrierId: id24.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50), page: z.coerce.number().int().min(1).default(1),
});
const loginRe = /^(?!x402_|psx_)[A-Za-z0-9_]{4,40}$/;
export const credentialsBody = z.strictObject({
  proxyLogin: z.string().regex(loginRe, 'is 4-40 of [A-Za-z0-9_], not starting with x402_ or psx_').optional(),
  proxyPassword: z.string().regex(/^[A-Za-z0-9_]{8,64}$/, 'is 8-64 of [A-Za-z0-9_]').optional(),
}).refine((b) => b.proxyLogin !== undefined || b.proxyPassword !== undefined, 'send proxyLogin and/or proxyPassword');
export const fingerprintBody = z.strictObject({ osFingerprint: z.enum(OS_FINGERPRINT_VALUES as [string, ...string[]]) });
export const reconfigureBody = z.object({ countryId: countryField, carrierId: id24.optional(), cityId: id24.optional() });

export function countryCodeOf(idOrCode: string): string {
  const ref = resolveCountry(idOrCode);
  if (!ref || !countryName(ref.code)) throw new ApiError(400, 'INVALID_COUNTRY', `${idOrCode} is neither a country _id nor an ISO 3166-1 code`);
  return ref.code;
}

export const baseOf = (req: Request) => `${req.protocol}://${req.get('host')}`;
const origin = (req: Request) => ({ actor: `account:${principalOf(req).accountId}`, correlationId: req.id });

/** Ports of seed 002: /v1/ports and /v1/ports/:id (CRUD, credentials, fingerprint, reconfigure, status, ping, ip, speed-test). */
export function accountPortsRouter(ctx: AccountsContext): Router {
  const router = Router();
  const { infra } = ctx;
  const db = infra.database.db;
  router.use('/v1/ports', authenticate(ctx));
  const view = async (req: Request, portId: string) => {
    const p = (await findAccountPort(db, portId))!;
    return portView(ctx, p, (await devicesById(db, [p.device_id])).get(p.device_id), baseOf(req));
  };
  const mine = (req: Request) => ownPort(ctx, principalOf(req).accountId, String(req.params.id));

  router.get('/v1/ports', requireScope('ports:read'), async (req, res) => {
    const q = parse(listPortsQuery, req.query);
    const suspended = await suspendedPortIds(db, principalOf(req).accountId, infra.clock.now());
    const { rows, total } = await listAccountPorts(db, principalOf(req).accountId, {
      suspended, type: q.type, status: q.status, countryCode: q.countryId ? countryCodeOf(q.countryId) : undefined, carrierId: q.carrierId, limit: q.limit, offset: (q.page - 1) * q.limit,
    }, infra.clock.now());
    const devices = await devicesById(db, rows.map((r) => r.device_id));
    const data = await Promise.all(rows.map((r) => portView(ctx, r, devices.get(r.device_id), baseOf(req))));
    res.json({ data, total, page: q.page, limit: q.limit, totalPages: Math.max(1, Math.ceil(total / q.limit)) });
  });

  router.post('/v1/ports', requireScope('ports:write'), async (req, res) => {
    const body = parse(createPortBody, req.body);
    const p = principalOf(req);
    const created = await createPort(ctx, p.accountId, {
      countryCode: countryCodeOf(body.countryId), carrierId: body.carrierId ?? null, cityId: body.cityId ?? null,
      slotType: body.type ?? (body.isPrivate ? 'private' : 'shared'), expiresInSeconds: body.expiresAt, osFingerprint: (body.osFingerprint ?? '') as never,
    }, origin(req));
    const port = await view(req, created.portId);
    res.status(201).json({ ...port, proxyPassword: created.proxyPassword });
  });

  router.get('/v1/ports/:id', requireScope('ports:read'), async (req, res) => {
    res.json(await view(req, (await mine(req)).port_id));
  });

  router.delete('/v1/ports/:id', requireScope('ports:write'), async (req, res) => {
    await deletePort(ctx, await mine(req), 'deleted', origin(req));
    res.json({ message: 'Port deleted successfully' });
  });

  router.put('/v1/ports/:id/credentials', requireScope('ports:write'), async (req, res) => {
    const body = parse(credentialsBody, req.body);
    const changed = await changeCredentials(ctx, await mine(req), body, origin(req));
    res.json({ ...(await view(req, String(req.params.id))), ...changed });
  });

  router.get('/v1/ports/:id/os-fingerprints', requireScope('ports:read'), async (req, res) => {
    await mine(req);
    res.json(OS_FINGERPRINTS);
  });

  router.patch('/v1/ports/:id/os-fingerprint', requireScope('ports:write'), async (req, res) => {
    const body = parse(fingerprintBody, req.body);
    const port = await mine(req);
    await runPortCommand(ctx, port.port_id, { type: 'SetFingerprint', data: { osFingerprint: body.osFingerprint as never } }, origin(req));
    res.json(await view(req, port.port_id));
  });

  const reconfigure = async (req: Request, res: import('express').Response) => {
    const body = parse(reconfigureBody, req.body);
    const port = await mine(req);
    await reconfigurePort(ctx, port, { countryCode: countryCodeOf(body.countryId), carrierId: body.carrierId ?? null, cityId: body.cityId ?? null }, origin(req));
    res.json(await view(req, port.port_id));
  };
  router.post('/v1/ports/:id/reconfigure', requireScope('ports:write'), reconfigure);
  router.put('/v1/ports/:id/reconfigure', requireScope('ports:write'), reconfigure);

  router.get('/v1/ports/:id/status', requireScope('ports:read'), async (req, res) => {
    const port = await mine(req);
    const device = await findDevice(db, port.device_id);
    const online = healthOf(device as never) === 'healthy';
    res.json({
      status: online ? 'online' : 'offline', isActive: new Date(port.expires_at) > infra.clock.now(), healthStatus: online ? 'healthy' : 'offline',
      lastChecked: device?.last_health_at ? new Date(device.last_health_at).toISOString() : null, expiresAt: new Date(port.expires_at).getTime(),
      // what the official MCP server reads (PortStatusInfo)
      portId: port.port_id, isOnline: online, deviceStatus: device ? (device.status === 'active' ? (device.online ? 'online' : 'offline') : device.status) : 'removed',
    });
  });

  const upstreamOf = async (req: Request) => {
    const port = await mine(req);
    const device = await findDevice(db, port.device_id);
    if (!device || device.status !== 'active') throw new ApiError(503, 'DEVICE_UNAVAILABLE', 'the port\'s device is not in service');
    return { port, upstream: openUpstream(infra.secrets, device.upstream as string) };
  };

  router.get('/v1/ports/:id/ping', requireScope('ports:read'), async (req, res) => {
    const { upstream } = await upstreamOf(req);
    const testTime = infra.clock.now().toISOString();
    try {
      const r = await pingThrough(upstream, infra.config.PORT_CHECK_IP_URL);
      res.json({ success: r.ip !== null, ip: r.ip, responseTime: r.responseTime, testTime });
    } catch (error) {
      res.json({ success: false, ip: null, responseTime: null, testTime, error: (error as Error).message });
    }
  });

  router.get('/v1/ports/:id/ip', requireScope('ports:read'), async (req, res) => {
    const { upstream } = await upstreamOf(req);
    const r = await pingThrough(upstream, infra.config.PORT_CHECK_IP_URL).catch((error: Error) => { throw new ApiError(502, 'PORT_UNREACHABLE', `the modem did not answer: ${error.message}`); });
    res.json({ publicIp: r.ip, serverIp: infra.config.GATEWAY_PUBLIC_HOST });
  });

  router.get('/v1/ports/:id/speed-test', requireScope('ports:read'), async (req, res) => {
    const { upstream } = await upstreamOf(req);
    const target = infra.config.PORT_SPEEDTEST_URL;
    if (!target) throw new ApiError(503, 'SPEEDTEST_DISABLED', 'no speed-test target is configured (PORT_SPEEDTEST_URL)');
    const r = await speedTestThrough(upstream, target, infra.config.PORT_SPEEDTEST_MAX_BYTES, infra.config.PORT_SPEEDTEST_MAX_SECONDS)
      .catch((error: Error) => { throw new ApiError(502, 'PORT_UNREACHABLE', `the modem did not answer: ${error.message}`); });
    const testTime = infra.clock.now().toISOString();
    res.json({ success: true, portId: String(req.params.id), ...r, testTime, testedAt: testTime });
  });

  return router;
}
