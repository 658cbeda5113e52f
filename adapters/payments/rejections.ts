// Building Rejected results, and mapping the x402 wire reasons (ours and any facilitator's)
// onto the port's RejectionCode.
import type { Rejected, RejectionCode } from './port.ts';

const STATUS: Record<RejectionCode, Rejected['status']> = {
  PAYMENT_MALFORMED: 400,
  PAYMENT_NETWORK_UNSUPPORTED: 400,
  PAYMENT_NOT_FOUND: 402,
  PAYMENT_UNCONFIRMED: 402,
  PAYMENT_TX_FAILED: 402,
  PAYMENT_WRONG_TOKEN: 402,
  PAYMENT_WRONG_RECIPIENT: 402,
  PAYMENT_UNDERPAID: 402,
  PAYMENT_INVALID: 402,
  PAYMENT_SETTLEMENT_FAILED: 502,
  PAYMENT_CHAIN_UNAVAILABLE: 503,
};

/** Details stay JSON-safe: bigints become decimal strings. */
export function reject(code: RejectionCode, message: string, details: Record<string, unknown> = {}): Rejected {
  const safe = Object.fromEntries(
    Object.entries(details)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  );
  return { ok: false, code, status: STATUS[code], message, details: safe };
}

export function unavailable(what: string, err: unknown, details: Record<string, unknown> = {}): Rejected {
  return reject('PAYMENT_CHAIN_UNAVAILABLE', `${what} is unreachable or failed; retry later`, { ...details, error: errorText(err) });
}

/**
 * An x402 invalidReason/errorReason (e.g. `invalid_exact_evm_payload_recipient_mismatch`,
 * `invalid_exact_svm_payload_mint_mismatch`) → our code. Unknown reasons are PAYMENT_INVALID.
 */
export function codeForX402Reason(reason: string, phase: 'verify' | 'settle'): RejectionCode {
  if (reason === 'invalid_payload' || /could_not_be_decoded|payload_transaction$/.test(reason)) return 'PAYMENT_MALFORMED';
  if (/network_mismatch|unsupported_network/.test(reason)) return 'PAYMENT_NETWORK_UNSUPPORTED';
  if (/recipient_mismatch/.test(reason)) return 'PAYMENT_WRONG_RECIPIENT';
  if (/asset_mismatch|mint_mismatch/.test(reason)) return 'PAYMENT_WRONG_TOKEN';
  // EVM: the authorization is for less than required. (SVM amount_mismatch means "not exactly
  // the amount", which we already compared up front, so it stays a generic invalid payment.)
  if (/authorization_value_mismatch|insufficient_amount/.test(reason)) return 'PAYMENT_UNDERPAID';
  if (reason === 'settlement_pending') return 'PAYMENT_UNCONFIRMED';
  if (phase === 'settle' && /transaction_failed|transfer_event_mismatch|settle/.test(reason)) return 'PAYMENT_SETTLEMENT_FAILED';
  return 'PAYMENT_INVALID';
}

/** Reasons meaning "this exact payment was already used", worth resolving to its settlement. */
export function isReplayReason(reason: string): boolean {
  return /nonce_already_used|duplicate_settlement/.test(reason);
}

export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'shortMessage' in err && typeof err.shortMessage === 'string') return err.shortMessage;
  return err instanceof Error ? err.message : String(err);
}

/** viem/web3.js/fetch failures of the transport itself, as opposed to a chain answer. */
export function looksLikeTransportError(text: string): boolean {
  return /HTTP request failed|fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|timed? ?out|socket hang up|network error/i.test(text);
}
