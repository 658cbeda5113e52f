import type { PaymentProcessor, Rejected } from '../../adapters/payments/port.ts';
import type { PriceList } from '../../domain/pricing/pricing.ts';
import type { Infrastructure } from '../infrastructure.ts';

/** What the x402 use cases need beyond the infrastructure: prices and the payment processor. */
export interface X402Context {
  infra: Infrastructure;
  prices: PriceList;
  /** null when no payment network is configured: purchases answer 503. */
  payments: PaymentProcessor | null;
}

/** A payment proof was refused; carries the processor's status and code to the HTTP layer. */
export class PaymentRejectedError extends Error {
  constructor(readonly rejection: Rejected) {
    super(rejection.message);
    this.name = 'PaymentRejectedError';
  }
}
