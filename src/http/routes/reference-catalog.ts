import { Router } from 'express';
import { z } from 'zod';
import { countryName } from '../../../domain/fleet/countries.ts';
import { countryRef, referenceId, resolveCountry } from '../../../domain/reference/countries.ts';
import { carrierAvailability, cityAvailability, countryAvailability } from '../../../projections/devices.ts';
import type { Infrastructure } from '../../infrastructure.ts';
import { ApiError } from '../errors.ts';
import { country2, errors } from '../openapi/common.ts';
import { documentRoutes } from '../openapi/registry.ts';
import { parse } from '../validate.ts';

/**
 * Public reference data at /v1 (no key): where there is stock now. Existing agent clients list countries,
 * cities and carriers here (the official MCP server's x402_list_countries / _cities / _carriers).
 */

const countryQuery = z.object({ country: z.union([country2, z.string().regex(/^[a-f0-9]{24}$/)]).meta({ description: 'ISO 3166-1 alpha-2 (or the country _id of /v1/countries)' }) });
const countryBody = z.object({ code: z.string(), name: z.string(), availableDevices: z.number().int(), isActive: z.boolean() });
const cityBody = z.object({ name: z.string(), code: z.string(), region: z.string().nullable(), country: z.string(), freeDeviceCount: z.number().int() });
const carrierBody = z.object({ name: z.string(), code: z.string(), brand: z.string(), mcc: z.string().nullable(), mnc: z.string().nullable(), technology: z.string().nullable(), country: z.string(), freeDeviceCount: z.number().int() });
const tag = 'Reference';
const bad = errors({ 400: ['VALIDATION_ERROR', 'INVALID_COUNTRY'] });
documentRoutes(
  { method: 'get', path: '/v1/countries', tag, summary: 'Countries with a free device now',
    responses: { 200: { description: 'Countries', schema: z.array(countryBody), example: [{ code: 'US', name: 'United States', availableDevices: 4, isActive: true }] } } },
  { method: 'get', path: '/v1/cities', tag, summary: 'Cities of a country that have devices', query: countryQuery,
    responses: { 200: { description: 'Cities', schema: z.array(cityBody), example: [{ name: 'New York', code: 'newyork', region: 'NY', country: 'US', freeDeviceCount: 2 }] }, ...bad } },
  { method: 'get', path: '/v1/carriers', tag, summary: 'Carriers of a country that have devices', query: countryQuery,
    responses: { 200: { description: 'Carriers', schema: z.array(carrierBody), example: [{ name: 'T-Mobile USA', code: 'tmobile', brand: 'T-Mobile', mcc: '310', mnc: '260', technology: '5G', country: 'US', freeDeviceCount: 3 }] }, ...bad } },
);

/** The token a gateway username uses for it (`-city-newyork`, `-carrier-tmobile`). */
const token = (name: string) => name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]/g, '');

export function referenceCatalogRouter(infra: Infrastructure): Router {
  const router = Router();
  const country = (query: unknown) => {
    const given = parse(countryQuery, query).country;
    const code = resolveCountry(given)?.code ?? given.toUpperCase();
    if (!countryName(code)) throw new ApiError(400, 'INVALID_COUNTRY', `${code} is not an ISO 3166-1 alpha-2 country code`);
    return code;
  };

  router.get('/countries', async (_req, res) => {
    const rows = await countryAvailability(infra.database.db);
    // _id, iso3 and phoneCode: seed 002's country object (ids derived from the code: stable everywhere)
    res.json(rows.map((r) => ({ _id: countryRef(r.code)._id, code: r.code, iso3: countryRef(r.code).iso3, phoneCode: countryRef(r.code).phoneCode, name: countryName(r.code) ?? r.code, availableDevices: r.availableDevices, isActive: true })));
  });

  router.get('/cities', async (req, res) => {
    const code = country(req.query);
    res.json((await cityAvailability(infra.database.db, code)).map((c) => ({ _id: referenceId('city', code, c.name), name: c.name, code: token(c.name), region: c.region, country: code, freeDeviceCount: c.freeDeviceCount })));
  });

  router.get('/carriers', async (req, res) => {
    const code = country(req.query);
    res.json((await carrierAvailability(infra.database.db, code)).map((c) => ({ _id: referenceId('carrier', code, c.name), name: c.name, code: token(c.brand || c.name), brand: c.brand, mcc: c.mcc, mnc: c.mnc, technology: c.technology, country: code, freeDeviceCount: c.freeDeviceCount })));
  });

  return router;
}
