import { Router } from 'express';
import { z } from 'zod';
import { countryName } from '../../../domain/fleet/countries.ts';
import { carrierAvailability, countryAvailability } from '../../../projections/devices.ts';
import type { Infrastructure } from '../../infrastructure.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';

export const tierQuery = z.object({ tier: z.enum(['shared', 'private']).optional() });
export const carrierQuery = z.object({ country: z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter ISO 3166-1 code') });

/** Public stock discovery (seed 002 "x402 Endpoints"), answered from the devices read model. */
export function x402CatalogRouter(infra: Infrastructure): Router {
  const router = Router();

  router.get('/countries', async (req, res) => {
    const { tier } = parse(tierQuery, req.query);
    const rows = await countryAvailability(infra.database.db, tier);
    res.json(rows.map((r) => ({
      code: r.code,
      name: countryName(r.code) ?? r.code,
      availableDevices: r.availableDevices,
      tier: r.shared && r.private ? 'both' : r.shared ? 'shared' : 'private',
    })));
  });

  router.get('/carriers', async (req, res) => {
    const country = parse(carrierQuery, req.query).country.toUpperCase();
    if (!countryName(country)) throw new ApiError(400, 'INVALID_COUNTRY', `${country} is not an ISO 3166-1 alpha-2 country code`);
    res.json(await carrierAvailability(infra.database.db, country));
  });

  return router;
}
