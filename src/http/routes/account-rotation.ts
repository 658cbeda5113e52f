import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { findAccountPort, findAccountPortByRotationHash } from '../../../projections/account-ports.ts';
import { rotationHistory } from '../../../projections/account-rotations.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import { ownPort, runPortCommand } from '../../accounts/ports.ts';
import { canRotate, rotatePort } from '../../accounts/rotation.ts';
import { sha256Hex } from '../../x402/secrets.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { devicesById, portView } from '../account-port-views.ts';
import { parse } from '../validate.ts';
import { baseOf } from './account-ports.ts';

export const rotationSettingsBody = z.strictObject({
  enabled: z.boolean().optional(),
  intervalSeconds: z.number().int().optional(),
  intervalMinutes: z.number().int().optional().meta({ description: 'legacy; intervalSeconds wins' }),
  matchCarrier: z.boolean().optional(),
  matchCity: z.boolean().optional(),
});
export const historyQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), offset: z.coerce.number().int().min(0).default(0) });

/** Rotation of account ports: manual, by token (/rotate/:token), settings for the worker's automatic rotation, history. */
export function accountRotationRouter(ctx: AccountsContext): Router {
  const router = Router();
  const db = ctx.infra.database.db;
  router.use('/v1/ports', authenticate(ctx));
  const mine = (req: Request) => ownPort(ctx, principalOf(req).accountId, String(req.params.id));
  const origin = (req: Request) => ({ actor: `account:${principalOf(req).accountId}`, correlationId: req.id });
  /** The port object after the change: the official MCP server prints a rotate answer as a port (name, type, ports, server…). */
  const view = async (req: Request, portId: string) => {
    const p = (await findAccountPort(db, portId))!;
    return portView(ctx, p, (await devicesById(db, [p.device_id])).get(p.device_id), baseOf(req));
  };

  router.post('/v1/ports/:id/rotate', requireScope('ports:rotate'), async (req, res) => {
    const rotated = await rotatePort(ctx, await mine(req), 'manual', origin(req));
    res.json({ ...(await view(req, rotated.portId)), ...rotated });
  });

  router.get('/v1/ports/:id/can-rotate', requireScope('ports:read'), async (req, res) => {
    const r = await canRotate(ctx, await mine(req));
    // the official MCP server reads the cooldown's end as nextAvailableRotation / cooldownEndsAt
    res.json('nextRotationAt' in r ? { ...r, nextAvailableRotation: r.nextRotationAt, cooldownEndsAt: r.nextRotationAt } : r);
  });

  const settings = async (req: Request, res: Response) => {
    const body = parse(rotationSettingsBody, req.body);
    const port = await mine(req);
    const intervalSeconds = body.intervalSeconds ?? (body.intervalMinutes !== undefined ? body.intervalMinutes * 60 : undefined);
    await runPortCommand(ctx, port.port_id, { type: 'ChangeRotationSettings', data: { enabled: body.enabled, intervalSeconds, matchCarrier: body.matchCarrier, matchCity: body.matchCity } }, origin(req));
    const p = (await findAccountPort(db, port.port_id))!;
    const rotationSettings = {
      enabled: p.rotation_enabled, intervalMinutes: Math.round(p.rotation_interval_seconds / 60), intervalSeconds: p.rotation_interval_seconds,
      lastRotatedAt: p.last_rotated_at ? new Date(p.last_rotated_at).toISOString() : null, rotationCount: p.rotation_count,
      matchCarrier: p.match_carrier, matchCity: p.match_city, excludedDeviceIds: [],
    };
    // the seed's flat settings, and the same nested as in the port object (the official MCP server reads port.rotationSettings)
    res.json({ ...rotationSettings, _id: p.port_id, id: p.port_id, rotationSettings });
  };
  router.patch('/v1/ports/:id/rotation-settings', requireScope('ports:write'), settings);
  router.put('/v1/ports/:id/rotation-settings', requireScope('ports:write'), settings);

  router.get('/v1/ports/:id/rotation-history', requireScope('ports:read'), async (req, res) => {
    const q = parse(historyQuery, req.query);
    const port = await mine(req);
    const { rows, total } = await rotationHistory(db, port.port_id, q.limit, q.offset);
    const devices = await devicesById(db, rows.flatMap((r) => [r.from_device_id, r.to_device_id]).filter((d): d is string => !!d));
    const nameOf = (id: string | null) => (id ? devices.get(id)?.name ?? null : null);
    const rotations = rows.map((r) => {
      const createdAt = new Date(r.created_at).toISOString();
      return {
        _id: r.rotation_id, portId: r.port_id, fromDeviceId: r.from_device_id, toDeviceId: r.to_device_id, fromIp: r.from_ip, toIp: r.to_ip,
        triggerType: r.trigger_type, success: r.success, isAirplaneMode: r.is_airplane_mode, rotationDurationMs: r.rotation_duration_ms,
        country: r.country, carrier: r.carrier, ...(r.reason ? { reason: r.reason } : {}), createdAt,
        // the names the official MCP server's history entry reads (trigger, rotatedAt, previous/new device, errorMessage)
        trigger: r.trigger_type, rotatedAt: createdAt, previousDeviceId: r.from_device_id, newDeviceId: r.to_device_id,
        previousDeviceName: nameOf(r.from_device_id), newDeviceName: nameOf(r.to_device_id), ...(r.success ? {} : { errorMessage: r.reason ?? 'rotation failed' }),
      };
    });
    res.json({ rotations, total, data: rotations, limit: q.limit, offset: q.offset });
  });

  // The rotation link of an account port (no other auth); other tokens fall through to the x402 one.
  router.get('/rotate/:token', async (req, res, next) => {
    const token = String(req.params.token);
    const port = /^[a-z0-9]{32}$/.test(token) ? await findAccountPortByRotationHash(db, sha256Hex(token)) : undefined;
    if (!port) return next();
    // not the port object: the link is public, and the port object carries credentials
    res.json(await rotatePort(ctx, port, 'api_token', { actor: 'rotation-link', correlationId: req.id }));
  });

  return router;
}
