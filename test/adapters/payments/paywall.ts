// A resource server in miniature for payment tests: answers 402 with our requirements (x402 v2
// PAYMENT-REQUIRED header, or a v1 body), then either collects what the official client sends
// or just hands the header back to the test.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import { V1_TO_V2_NETWORK_MAP } from '@x402/svm';
import type { Chains } from '../../support/chains.ts';
import type { Collected, PaymentNetwork, PaymentProcessor, Rejected, X402Requirement } from '../../../adapters/payments/port.ts';
import { paymentRequiredHeader, paymentResponseHeader } from '../../../adapters/payments/processor.ts';

export type Offer = { requirements: X402Requirement[]; version?: 1 | 2 };

/** x402 v1 name of a CAIP-2 network (base-sepolia, solana-devnet, …). */
export function v1Name(caip2: string): string {
  const evm = Object.entries(EVM_NETWORK_CHAIN_ID_MAP).find(([, id]) => `eip155:${id}` === caip2)?.[0];
  const svm = Object.entries(V1_TO_V2_NETWORK_MAP).find(([, n]) => n === caip2)?.[0];
  const name = evm ?? svm;
  if (!name) throw new Error(`no x402 v1 name for ${caip2}`);
  return name;
}

function v1Requirements(requirements: X402Requirement[], url: string) {
  return requirements.map(({ amount, network, ...r }) => ({
    ...r,
    network: v1Name(network),
    maxAmountRequired: amount,
    resource: url,
    description: 'test resource',
    mimeType: 'application/json',
  }));
}

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, url: string) => Promise<void>) {
  let url = '';
  const server = http.createServer((req, res) => {
    handler(req, res, url).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/buy`;
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url, stop };
}

function paymentHeaderOf(req: http.IncomingMessage): string | undefined {
  const value = req.headers['payment-signature'] ?? req.headers['x-payment'];
  return Array.isArray(value) ? value[0] : value;
}

function answer402(res: http.ServerResponse, offer: Offer, url: string, error?: string): void {
  if (offer.version === 1) {
    res.writeHead(402, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ x402Version: 1, error: error ?? 'X-PAYMENT header is required', accepts: v1Requirements(offer.requirements, url) }));
    return;
  }
  res.writeHead(402, { 'content-type': 'application/json', 'PAYMENT-REQUIRED': paymentRequiredHeader(offer.requirements, { url }, error) });
  res.end(JSON.stringify({ error: error ?? 'payment required' }));
}

/** The header @x402/fetch sends (PAYMENT-SIGNATURE for v2, X-PAYMENT for v1) for this offer, without collecting it. */
export async function capturePaymentHeader(chains: Chains, network: PaymentNetwork, offer: Offer): Promise<string> {
  let captured: string | undefined;
  const server = await serve(async (req, res, url) => {
    captured ??= paymentHeaderOf(req);
    if (!captured) return answer402(res, offer, url);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('captured');
  });
  try {
    const res = await chains.x402Fetch(network)(server.url);
    if (res.status !== 200 || !captured) throw new Error(`no payment captured (status ${res.status})`);
    return captured;
  } finally {
    await server.stop();
  }
}

/** Full round: 402 with the processor's requirements for `priceMicro`, then collect() the retry. */
export async function buyThroughPaywall(chains: Chains, network: PaymentNetwork, processor: PaymentProcessor, priceMicro: bigint, version: 1 | 2 = 2) {
  const results: (Collected | Rejected)[] = [];
  const headers: string[] = [];
  const server = await serve(async (req, res, url) => {
    const header = paymentHeaderOf(req);
    const offer: Offer = { requirements: processor.requirements(priceMicro), version };
    if (!header) return answer402(res, offer, url);
    headers.push(header);
    const result = await processor.collect(header, priceMicro);
    results.push(result);
    if (!result.ok) return answer402(res, offer, url, result.code);
    res.writeHead(200, { 'content-type': 'application/json', 'PAYMENT-RESPONSE': paymentResponseHeader(result) });
    res.end(JSON.stringify({ claimKey: result.claimKey }));
  });
  try {
    const response = await chains.x402Fetch(network)(server.url);
    return { response, results, headers };
  } finally {
    await server.stop();
  }
}

/** Re-encodes a captured base64 payment header after editing its JSON. */
export function editHeader(header: string, edit: (json: Record<string, any>) => void): string {
  const json = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Record<string, any>;
  edit(json);
  return Buffer.from(JSON.stringify(json)).toString('base64');
}

/** The collected payment, or a failure that names the rejection. */
export function collected(r: Collected | Rejected): Collected {
  if (!r.ok) throw new Error(`expected Collected, got ${r.code}: ${r.message} ${JSON.stringify(r.details)}`);
  return r;
}
