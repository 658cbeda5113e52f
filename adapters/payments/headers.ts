// x402 v2 response headers: PAYMENT-REQUIRED (what to pay) and PAYMENT-RESPONSE (what settled).
import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http';
import type { Network } from '@x402/core/types';
import type { Collected, X402Requirement } from './port.ts';

export interface ResourceDescription {
  url: string;
  description?: string;
  mimeType?: string;
}

/** Base64 of the x402 v2 PaymentRequired object, for the PAYMENT-REQUIRED header of a 402. */
export function paymentRequiredHeader(requirements: X402Requirement[], resource: ResourceDescription, error?: string, extensions?: Record<string, unknown>): string {
  return encodePaymentRequiredHeader({
    x402Version: 2,
    ...(extensions ? { extensions } : {}),
    ...(error === undefined ? {} : { error }),
    resource: {
      url: resource.url,
      description: resource.description ?? '',
      mimeType: resource.mimeType ?? 'application/json',
    },
    accepts: requirements.map((r) => ({ ...r, network: r.network as Network })),
  });
}

/** Base64 of the x402 v2 settle response, for the PAYMENT-RESPONSE header of a paid response. */
export function paymentResponseHeader(collected: Collected): string {
  return encodePaymentResponseHeader({
    success: true,
    transaction: collected.transaction,
    network: collected.caip2 as Network,
    payer: collected.payer,
  });
}
