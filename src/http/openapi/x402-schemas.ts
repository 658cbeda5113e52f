import { z } from 'zod';
import { decimal, EXAMPLE_LATER, EXAMPLE_TIME, EXAMPLE_UUID, isoDate, microString } from './common.ts';

/** Shapes the x402 surface answers with (src/http/x402-views.ts builds them). */

export const network = z.enum(['base', 'solana']);
const EVM = '0x9f2b6a3c1d4e5f60718293a4b5c6d7e8f9012345';
const TX = '0x5c0a7d0b1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3';

export const trafficBody = z.object({
  totalGB: decimal, usedGB: decimal, remainingGB: decimal,
  totalBytes: microString, usedBytes: microString, remainingBytes: microString,
}).meta({ id: 'Traffic' });
export const trafficExample = { totalGB: '1', usedGB: '0', remainingGB: '1', totalBytes: '1000000000', usedBytes: '0', remainingBytes: '1000000000' };

export const paymentBody = z.object({
  network, proof: z.enum(['tx_hash', 'x402_exact']), transaction: z.string(), payer: z.string(),
  amount: decimal, amountMicro: microString,
  transactionHash: z.string().meta({ description: 'same as transaction (agent clients read this name)' }),
  amountPaid: decimal, currency: z.literal('USDC'),
}).meta({ id: 'Payment' });
export const paymentExample = { network: 'base', proof: 'tx_hash', transaction: TX, payer: EVM, amount: '4.00', amountMicro: '4000000', transactionHash: TX, amountPaid: '4.00', currency: 'USDC' };

const connection = z.object({ http: z.string(), socks5: z.string() });
export const newPortBody = z.object({
  portId: z.string(), host: z.string(), httpPort: z.number().int(), socksPort: z.number().int(),
  username: z.string(), password: z.string(), rotationToken: z.string(), rotationUrl: z.string(), connection,
}).meta({ id: 'NewPort', description: 'Credentials of a port just placed: password and rotation token are shown only here' });
export const newPortExample = {
  portId: EXAMPLE_UUID, host: '127.0.0.1', httpPort: 7000, socksPort: 7001, username: 'x402_4f1c2a9b', password: 'Zq8…secret', rotationToken: 'rot_8b1f…', rotationUrl: 'http://localhost:3000/rotate/rot_8b1f…',
  connection: { http: 'http://x402_4f1c2a9b:Zq8…secret@127.0.0.1:7000', socks5: 'socks5://x402_4f1c2a9b:Zq8…secret@127.0.0.1:7001' },
};

export const portBody = z.object({
  portId: z.string(), status: z.string(), online: z.boolean().nullable(), country: z.string(),
  host: z.string(), httpPort: z.number().int(), socksPort: z.number().int(), username: z.string(),
  allocatedAt: isoDate.nullable(), lastRotatedAt: isoDate.nullable(), rotations: z.number().int(),
  releasedAt: isoDate.nullable(), replacesPortId: z.string().nullable(),
}).meta({ id: 'Port' });
export const portExample = { portId: EXAMPLE_UUID, status: 'active', online: true, country: 'US', host: '127.0.0.1', httpPort: 7000, socksPort: 7001, username: 'x402_4f1c2a9b', allocatedAt: EXAMPLE_TIME, lastRotatedAt: null, rotations: 0, releasedAt: null, replacesPortId: null };

export const publicSessionBody = z.object({
  sessionId: z.string(), status: z.string(), tier: z.enum(['shared', 'private']), country: z.string(), carrier: z.string().nullable(),
  createdAt: isoDate.nullable(), expiresAt: isoDate, traffic: trafficBody,
  payment: z.object({ network: z.string(), transaction: z.string(), payer: z.string(), amount: decimal }),
}).meta({ id: 'PublicSession', description: 'A session as anyone may see it: no token, password or username' });
export const publicSessionExample = { sessionId: EXAMPLE_UUID, status: 'active', tier: 'shared', country: 'US', carrier: null, createdAt: EXAMPLE_TIME, expiresAt: EXAMPLE_LATER, traffic: trafficExample, payment: { network: 'base', transaction: TX, payer: EVM, amount: '4.00' } };

export const sessionDetailBody = publicSessionBody.extend({
  secondsRemaining: z.number().int(), replacementsUsed: z.number().int(), replacementsRemaining: z.number().int(), portAllocationFailed: z.boolean(),
}).meta({ id: 'SessionDetail' });
export const sessionDetailExample = { ...publicSessionExample, secondsRemaining: 86400, replacementsUsed: 0, replacementsRemaining: 3, portAllocationFailed: false };

/** The `session` object agent clients (the official MCP server) read. */
export const agentSessionBody = z.object({
  id: z.string(), status: z.enum(['active', 'expired', 'suspended']), expiresAt: isoDate,
  proxy: z.object({ host: z.string(), httpPort: z.number().int(), socksPort: z.number().int(), username: z.string(), password: z.string() }).optional(),
  location: z.object({ country: z.string(), countryCode: z.string(), city: z.string().optional(), carrier: z.string().optional() }),
  traffic: z.object({ allowedGB: z.number(), usedBytes: z.number(), usedGB: z.number(), remainingBytes: z.number(), remainingGB: z.number(), percentUsed: z.number() }),
  payment: z.object({ network, transactionHash: z.string(), amountUSDC: decimal, paidAt: isoDate }),
  rotationUrl: z.string().optional(), rotationToken: z.string().optional(),
}).meta({ id: 'AgentSession', description: 'proxy, rotationUrl and rotationToken only in the purchase answer' });
export const agentSessionExample = {
  id: EXAMPLE_UUID, status: 'active', expiresAt: EXAMPLE_LATER,
  location: { country: 'United States', countryCode: 'US', carrier: 'T-Mobile' },
  traffic: { allowedGB: 1, usedBytes: 0, usedGB: 0, remainingBytes: 1e9, remainingGB: 1, percentUsed: 0 },
  payment: { network: 'base', transactionHash: TX, amountUSDC: '4.00', paidAt: EXAMPLE_TIME },
};
export const agentSessionWithSecretsExample = {
  ...agentSessionExample,
  proxy: { host: '127.0.0.1', httpPort: 7000, socksPort: 7001, username: 'x402_4f1c2a9b', password: 'Zq8…secret' },
  rotationUrl: newPortExample.rotationUrl, rotationToken: newPortExample.rotationToken,
};

export const purchaseBody = z.object({
  success: z.literal(true),
  sessionId: z.string(), sessionToken: z.string(),
  portId: z.string().nullable(), portAllocationFailed: z.boolean().optional(), hint: z.string().optional(),
  host: z.string().optional(), httpPort: z.number().int().optional(), socksPort: z.number().int().optional(),
  username: z.string().optional(), password: z.string().optional(), rotationToken: z.string().optional(), rotationUrl: z.string().optional(),
  connection: connection.optional(),
  credentials: z.object({ host: z.string(), httpPort: z.number().int(), socksPort: z.number().int(), username: z.string(), password: z.string(), expiresAt: isoDate }).optional(),
  expiresAt: isoDate, country: z.string(), carrier: z.string().nullable(), tier: z.enum(['shared', 'private']), trafficGB: decimal, durationSeconds: z.number().int(),
  traffic: trafficBody, payment: paymentBody, session: agentSessionBody,
}).meta({ id: 'Purchase', description: 'Seed fields flat, seed 002 credentials nested, and the agent clients\' session object' });
export const purchaseExample = {
  success: true, sessionId: EXAMPLE_UUID, sessionToken: 'x402s_3k9d0f…', ...newPortExample,
  credentials: { host: '127.0.0.1', httpPort: 7000, socksPort: 7001, username: 'x402_4f1c2a9b', password: 'Zq8…secret', expiresAt: EXAMPLE_LATER },
  expiresAt: EXAMPLE_LATER, country: 'US', carrier: null, tier: 'shared', trafficGB: '1', durationSeconds: 86400,
  traffic: trafficExample, payment: paymentExample, session: agentSessionWithSecretsExample,
};

export const v2Requirement = z.object({
  scheme: z.literal('exact'), network: z.string(), amount: microString, asset: z.string(), payTo: z.string(),
  maxTimeoutSeconds: z.number().int(), extra: z.record(z.string(), z.unknown()),
}).meta({ id: 'X402Requirement' });
export const v1Accept = z.object({
  scheme: z.literal('exact'), network, chainId: z.string(), maxAmountRequired: microString, resource: z.string(), description: z.string(),
  mimeType: z.string(), payTo: z.string(), maxTimeoutSeconds: z.number().int(), asset: z.string(),
  outputSchema: z.record(z.string(), z.unknown()).optional(), extra: z.record(z.string(), z.unknown()).optional(),
}).meta({ id: 'X402V1Accept' });

export const paymentRequiredBody = z.object({
  status: z.literal(402), message: z.string(), price: decimal, priceMicro: microString, currency: z.literal('USDC'),
  recipient: z.record(z.string(), z.string()), networks: z.array(network),
  payment: z.object({ paymentId: z.string(), payTo: z.string(), amount: decimal, currency: z.literal('USDC'), network, expires: isoDate }).optional(),
  instructions: z.string(), x402Version: z.literal(2), error: z.string(),
  resource: z.object({ url: z.string(), description: z.string(), mimeType: z.string() }),
  accepts: z.array(v2Requirement),
  extensions: z.record(z.string(), z.unknown()).optional(),
  paymentRequirement: z.object({ x402Version: z.literal(1), accepts: z.array(v1Accept) }),
}).catchall(z.unknown()).meta({ id: 'PaymentRequired', description: 'Seed fields, x402 v2 (also base64 in PAYMENT-REQUIRED) and the v1 paymentRequirement block' });
const USDC = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913';
export const paymentRequiredExample = {
  status: 402, message: 'Payment Required', price: '4.00', priceMicro: '4000000', currency: 'USDC',
  recipient: { base: EVM }, networks: ['base'],
  payment: { paymentId: 'pay_6f1e2d3c4b5a69788796a5b4', payTo: EVM, amount: '4.00', currency: 'USDC', network: 'base', expires: EXAMPLE_TIME },
  order: { country: 'US', carrier: null, tier: 'shared', trafficGB: '1', durationSeconds: 86400 },
  instructions: 'Send the USDC price to the recipient…', x402Version: 2, error: 'payment required',
  resource: { url: 'http://localhost:3000/v1/x402/proxy?country=US&traffic=1', description: 'Mobile proxy, US, 1 GB', mimeType: 'application/json' },
  accepts: [{ scheme: 'exact', network: 'eip155:8453', amount: '4000000', asset: USDC, payTo: EVM, maxTimeoutSeconds: 300, extra: { name: 'USD Coin', version: '2' } }],
  paymentRequirement: { x402Version: 1, accepts: [{ scheme: 'exact', network: 'base', chainId: '8453', maxAmountRequired: '4000000', resource: 'http://localhost:3000/v1/x402/proxy?country=US&traffic=1', description: 'Mobile proxy, US, 1 GB', mimeType: 'application/json', payTo: EVM, maxTimeoutSeconds: 300, asset: USDC }] },
};
export const paymentResponses = {
  402: { description: 'Payment required (no proof yet), or the proof was refused (error shape with PAYMENT_* code)', schema: paymentRequiredBody, example: paymentRequiredExample, headers: { 'PAYMENT-REQUIRED': 'base64 x402 v2 PaymentRequired' } },
};
export const examples = { EVM, TX, USDC };
