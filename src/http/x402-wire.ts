import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { NetworkInfo, X402Requirement } from '../../adapters/payments/port.ts';
import type { RouteDoc } from './openapi/registry.ts';

/**
 * What existing x402 agent clients read besides x402 v2: the v1 `paymentRequirement` block (the official MCP
 * server requires it), seed 002's `paymentId`, and the bazaar discovery extension (input/output schemas of the
 * resource, taken from its OpenAPI registration, so they cannot drift from what the route parses and answers).
 */

/** v1 `chainId`: the EIP-155 number on Base, the genesis-hash prefix on Solana. */
const chainIdOf = (caip2: string) => caip2.slice(caip2.indexOf(':') + 1);

export function v1PaymentRequirement(
  networks: NetworkInfo[], accepts: X402Requirement[], amountMicro: bigint,
  resource: { url: string; description: string; mimeType: string }, outputSchema?: Record<string, unknown>,
) {
  return {
    x402Version: 1 as const,
    accepts: networks.map((n) => {
      const v2 = accepts.find((a) => a.network === n.caip2);
      return {
        scheme: 'exact' as const,
        network: n.network,
        chainId: chainIdOf(n.caip2),
        maxAmountRequired: amountMicro.toString(),
        resource: resource.url,
        description: resource.description,
        mimeType: resource.mimeType,
        payTo: n.recipient,
        maxTimeoutSeconds: v2?.maxTimeoutSeconds ?? 300,
        asset: n.asset,
        ...(outputSchema ? { outputSchema } : {}),
        ...(v2?.extra && Object.keys(v2.extra).length ? { extra: v2.extra } : {}),
      };
    }),
  };
}

/** Seed 002's `paymentId`: names this quote (resource + amount), the same on every repeat of the request. */
export function paymentIdFor(resourceUrl: string, amountMicro: bigint): string {
  return `pay_${createHash('sha256').update(`${resourceUrl}\n${amountMicro}`).digest('hex').slice(0, 24)}`;
}

/** Converted once per schema: every 402 carries them, and converting showed in the quote path's CPU profile. Shared: never mutated. */
const converted = new WeakMap<z.ZodType, Record<string, unknown>>();
function jsonSchema(schema: z.ZodType | undefined): Record<string, unknown> | undefined {
  if (!schema) return undefined;
  let json = converted.get(schema);
  if (!json) converted.set(schema, (json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>));
  return json;
}

/** The route's request and answer for discovery: x402 bazaar `info` + `schema`, and the v1 `outputSchema`. */
export function discoveryOf(doc: RouteDoc | undefined, method: string, givenInput: Record<string, unknown>) {
  if (!doc) return undefined;
  const inputSchema = jsonSchema(doc.query ?? doc.body);
  const ok = doc.responses[200];
  const inField = method === 'GET' ? 'queryParams' : 'body';
  const input = { type: 'http', method, ...(Object.keys(givenInput).length ? { [inField]: givenInput } : {}) };
  const output = { type: 'json', ...(ok?.example !== undefined ? { example: ok.example } : {}) };
  return {
    bazaar: {
      info: { input, output },
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          input: { type: 'object', properties: { type: { const: 'http' }, method: { const: method }, ...(inputSchema ? { [inField]: inputSchema } : {}) }, required: ['type', 'method'] },
          output: { type: 'object', properties: { type: { const: 'json' }, ...(ok?.schema ? { example: jsonSchema(ok.schema) } : {}) } },
        },
        required: ['input'],
      },
    },
    outputSchema: { input: { ...input, discoverable: true, ...(inputSchema ? { schema: inputSchema } : {}) }, output: jsonSchema(ok?.schema) ?? null },
  };
}
