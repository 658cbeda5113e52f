import { Router, type Request } from 'express';
import { z } from 'zod';
import { countryName } from '../../../domain/fleet/countries.ts';
import { countryRef, referenceId } from '../../../domain/reference/countries.ts';
import { carrierAvailability, countryAvailability } from '../../../projections/devices.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import { authenticate, requireScope } from '../auth.ts';
import { usd } from '../account-views.ts';

import { parse } from '../validate.ts';
import { countryCodeOf } from './account-ports.ts';

export const withDevicesQuery = z.object({ isPrivate: z.enum(['true', 'false']).default('false') });
export const carriersQuery = z.object({ withDevice: z.enum(['true', 'false']).default('false') });

export const countryObject = (code: string, isActive: boolean) => {
  const ref = countryRef(code);
  return { _id: ref._id, name: countryName(ref.code) ?? ref.code, code: ref.code, iso3: ref.iso3, phoneCode: ref.phoneCode, isActive, flag: flagOf(ref.code) };
};
/** The regional-indicator emoji of an ISO alpha-2 code (the official MCP server prints country.flag). */
export const flagOf = (code: string) => (/^[A-Z]{2}$/.test(code) ? String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65)) : '');

/**
 * Reference data of seed 002 beside the public /v1/countries, /v1/cities, /v1/carriers (reference-catalog.ts):
 * ids are derived from ISO codes and names (domain/reference/countries.ts), so they are stable; every
 * countryId also takes an ISO code.
 */
export function accountReferenceRouter(ctx: AccountsContext): Router {
  const router = Router();
  const db = ctx.infra.database.db;
  for (const p of ['/v1/countries/with-devices', '/v1/countries/:id', '/v1/carriers/country', '/v1/tariffs']) router.use(p, authenticate(ctx));

  router.get('/v1/countries/with-devices', requireScope('ports:read'), async (req, res) => {
    const { isPrivate } = parse(withDevicesQuery, req.query);
    const rows = await countryAvailability(db, isPrivate === 'true' ? 'private' : 'shared');
    res.json(rows.map((r) => ({ ...countryObject(r.code, true), freeDeviceCount: r.availableDevices })));
  });

  router.get('/v1/countries/:id', requireScope('ports:read'), async (req: Request, res) => {
    const code = countryCodeOf(String(req.params.id));
    const active = (await countryAvailability(db)).some((r) => r.code === code);
    res.json(countryObject(code, active));
  });

  router.get('/v1/carriers/country/:countryId', requireScope('ports:read'), async (req, res) => {
    const code = countryCodeOf(String(req.params.countryId));
    const { withDevice } = parse(carriersQuery, req.query);
    const rows = await carrierAvailability(db, code);
    res.json(rows.filter((c) => withDevice === 'false' || c.freeDeviceCount > 0).map((c) => ({
      _id: referenceId('carrier', code, c.name), name: c.name, brand: c.brand, mcc: c.mcc, mnc: c.mnc, technology: c.technology,
      countryId: countryRef(code)._id, country: code, freeDeviceCount: c.freeDeviceCount,
    })));
  });

  router.get('/v1/tariffs', requireScope('ports:read'), async (_req, res) => {
    const p = ctx.pricing;
    const tariff = (type: string, category: 'shared' | 'private', resourceType: 'ports' | 'traffic', micro: bigint) => ({
      _id: referenceId('country', `tariff:${type}`), type, price: usd(micro), ...(resourceType === 'ports' ? { portRange: { min: 1, max: 1000 } } : { trafficRange: { min: 1, max: 100000 } }),
      category, resourceType, pricePerUnit: usd(micro), pricePerUnitMicro: micro.toString(), unitType: resourceType === 'ports' ? 'slot' : 'gb',
      billingPeriod: resourceType === 'ports' ? 'monthly' : 'one-time',
      displayName: `${category === 'shared' ? 'Shared' : 'Private'} ${resourceType === 'ports' ? 'Port Slots' : 'Traffic'} (${resourceType === 'ports' ? '1-1000' : '1-100000 GB'})`,
    });
    res.json([
      tariff('PortsShared', 'shared', 'ports', p.slotMonthlyMicro.shared), tariff('TrafficShared', 'shared', 'traffic', p.perGbMicro.shared),
      tariff('PortsPrivate', 'private', 'ports', p.slotMonthlyMicro.private), tariff('TrafficPrivate', 'private', 'traffic', p.perGbMicro.private),
    ]);
  });

  return router;
}

/** Adds seed 002's ids and codes to the public reference objects (x402 clients ignore the extra fields). */
export const countryExtras = (code: string) => { const r = countryRef(code); return { _id: r._id, iso3: r.iso3, phoneCode: r.phoneCode }; };
