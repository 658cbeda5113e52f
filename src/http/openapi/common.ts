import { z } from 'zod';
import type { ResponseDoc } from './registry.ts';

/** The one error shape of the JSON API (src/http/errors.ts). */
export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
  requestId: z.string(),
  statusCode: z.number().int().meta({ description: 'the HTTP status again (NestJS style, for clients of the original API)' }),
  message: z.string().meta({ description: 'error.message again (NestJS style)' }),
}).meta({ id: 'Error' });

const descriptions: Record<number, string> = {
  400: 'Bad input', 401: 'Missing or invalid credentials', 402: 'Payment required or refused', 403: 'Forbidden',
  404: 'Not found', 409: 'Conflict', 413: 'Body too large', 429: 'Rate limited', 502: 'Upstream failed', 503: 'Unavailable',
};

/** Error responses, with the codes each status answers: `errors({ 400: ['VALIDATION_ERROR'], 404: 'SESSION_NOT_FOUND' })`. */
export function errors(spec: Record<number, string | string[]>): Record<number, ResponseDoc> {
  const out: Record<number, ResponseDoc> = {};
  for (const [status, codes] of Object.entries(spec)) {
    const list = Array.isArray(codes) ? codes : [codes];
    out[Number(status)] = {
      description: `${descriptions[Number(status)] ?? 'Error'}: ${list.join(', ')}`,
      schema: errorBody,
      example: { error: { code: list[0], message: `${list[0]?.toLowerCase().replace(/_/g, ' ')}`, details: {} }, requestId: '0f9c1c2e-7f5b-4e8e-9a53-1f0a9f3c2b11', statusCode: Number(status), message: `${list[0]?.toLowerCase().replace(/_/g, ' ')}` },
    };
  }
  return out;
}

export const ok = (description: string, schema: z.ZodType, example: unknown): ResponseDoc => ({ description, schema, example });

export const isoDate = z.string().meta({ format: 'date-time' });
export const decimal = z.string().regex(/^\d+(\.\d+)?$/).meta({ description: 'decimal string' });
export const microString = z.string().regex(/^\d+$/).meta({ description: 'integer micro-units (6 decimals) as a string' });
export const country2 = z.string().regex(/^[A-Za-z]{2}$/);
export const EXAMPLE_TIME = '2026-12-01T12:00:00.000Z';
export const EXAMPLE_LATER = '2026-12-02T12:00:00.000Z';
export const EXAMPLE_UUID = '019ad6b2-6c1e-7a3b-9f10-2b8c4d5e6f70';
