// Classifies a Payment-Signature / X-PAYMENT header value: a Base tx hash, a Solana
// signature, or an x402 payment payload (v2 as @x402/fetch sends it, or v1), base64 or raw JSON.
import { getBase58Decoder, getBase58Encoder } from '@solana/kit';
import { z } from 'zod';

export type PaymentProof =
  | { kind: 'evm_tx'; hash: `0x${string}` }
  | { kind: 'solana_sig'; signature: string }
  | { kind: 'x402'; payload: X402Envelope }
  | { kind: 'malformed'; reason: string };

/** The client's stated terms (v2 `accepted`); absent for v1, which states only scheme + network. */
export interface AcceptedTerms {
  scheme: string;
  network: string;
  amount: string;
  asset: string;
  payTo: string;
}

export interface X402Envelope {
  x402Version: 1 | 2;
  scheme: string;
  network: string;
  accepted?: AcceptedTerms;
  /** Scheme-specific part (EIP-3009 authorization + signature, or a base64 Solana transaction). */
  payload: Record<string, unknown>;
}

const EVM_TX_HASH = /^0x[0-9a-fA-F]{64}$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const MAX_HEADER_CHARS = 64 * 1024;

const v2Schema = z.object({
  x402Version: z.literal(2),
  accepted: z.object({
    scheme: z.string().min(1),
    network: z.string().min(1),
    amount: z.string(),
    asset: z.string(),
    payTo: z.string(),
  }),
  payload: z.record(z.string(), z.unknown()),
});
const v1Schema = z.object({
  x402Version: z.literal(1),
  scheme: z.string().min(1),
  network: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});

export function parsePaymentHeader(header: string): PaymentProof {
  const value = header.trim();
  if (value === '') return malformed('empty payment header');
  if (value.length > MAX_HEADER_CHARS) return malformed(`payment header longer than ${MAX_HEADER_CHARS} characters`);
  if (EVM_TX_HASH.test(value)) return { kind: 'evm_tx', hash: value.toLowerCase() as `0x${string}` };
  const signature = solanaSignature(value);
  if (signature) return { kind: 'solana_sig', signature };

  const json = decodeJson(value);
  if (json === undefined) {
    return malformed('expected a Base tx hash (0x + 64 hex), a Solana signature (base58, 64 bytes) or an x402 payment payload (base64 JSON)');
  }
  if (typeof json === 'object' && json !== null && 'transactionHash' in json) return transactionReport(json as Record<string, unknown>);
  const version = typeof json === 'object' && json !== null && 'x402Version' in json ? json.x402Version : undefined;
  if (version === 2) {
    const p = v2Schema.safeParse(json);
    if (!p.success) return malformed(`x402 v2 payload: ${z.prettifyError(p.error)}`);
    const { accepted, payload } = p.data;
    return { kind: 'x402', payload: { x402Version: 2, scheme: accepted.scheme, network: accepted.network, accepted, payload } };
  }
  if (version === 1) {
    const p = v1Schema.safeParse(json);
    if (!p.success) return malformed(`x402 v1 payload: ${z.prettifyError(p.error)}`);
    return { kind: 'x402', payload: p.data };
  }
  return malformed(`JSON payment payload without a supported x402Version (got ${JSON.stringify(version) ?? 'none'})`);
}

/** Canonical base58 of a 64-byte signature, or undefined if the value is not one. */
function solanaSignature(value: string): string | undefined {
  if (value.length < 64 || value.length > 88 || !BASE58.test(value)) return undefined;
  try {
    const bytes = getBase58Encoder().encode(value);
    return bytes.length === 64 ? getBase58Decoder().decode(bytes) : undefined;
  } catch {
    return undefined;
  }
}

function decodeJson(value: string): unknown {
  let text = value;
  if (!value.startsWith('{')) {
    if (!BASE64.test(value)) return undefined;
    // @x402 encodes standard base64; base64url is accepted too since proxies sometimes rewrite it.
    text = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64').toString('utf8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * `{transactionHash, network, payer}` in X-Payment, as existing agent clients (the official MCP server) send it
 * after a plain USDC transfer: the same as that hash alone. The chain decides who paid, never `payer`.
 */
function transactionReport(json: Record<string, unknown>): PaymentProof {
  const { transactionHash, network } = json;
  if (typeof transactionHash !== 'string') return malformed('transactionHash must be a string');
  if (network !== undefined && network !== 'base' && network !== 'solana') return malformed(`network must be base or solana (got ${JSON.stringify(network)})`);
  if (network !== 'solana' && EVM_TX_HASH.test(transactionHash)) return { kind: 'evm_tx', hash: transactionHash.toLowerCase() as `0x${string}` };
  const signature = network !== 'base' ? solanaSignature(transactionHash) : undefined;
  if (signature) return { kind: 'solana_sig', signature };
  return malformed(`transactionHash is not a ${network ?? 'Base or Solana'} transaction (0x + 64 hex on Base, a base58 signature on Solana)`);
}

function malformed(reason: string): PaymentProof {
  return { kind: 'malformed', reason };
}
