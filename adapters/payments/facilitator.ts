// An external x402 facilitator (X402_FACILITATOR_URL): /supported for the Solana fee payer,
// /verify then /settle for exact payloads, through @x402/core's own HTTP client.
import { HTTPFacilitatorClient } from '@x402/core/http';
import {
  FacilitatorTimeoutError,
  SettleError,
  VerifyError,
  type PaymentPayload,
  type PaymentRequirements,
  type SettleResponse,
  type SupportedKind,
  type VerifyResponse,
} from '@x402/core/types';
import type { ExactOutcome } from './rail.ts';
import { errorText } from './rejections.ts';

/** Don't ask /supported again sooner than this after a failure. */
const SUPPORTED_RETRY_MS = 30_000;

export interface ExternalFacilitator {
  readonly url: string;
  /** The v2 exact kind the facilitator advertises for a network; undefined until /supported answered. */
  kind(network: string): SupportedKind | undefined;
  /** Whether /supported has answered at least once. */
  known(): boolean;
  /** Fetches /supported unless it answered already or failed recently; never throws. */
  refresh(): Promise<void>;
  verifyAndSettle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<ExactOutcome>;
}

export function createExternalFacilitator(url: string, opts: { now: () => number; timeoutMs?: number }): ExternalFacilitator {
  // Settling on Base waits for a receipt; leave room but don't hang a request forever.
  const client = new HTTPFacilitatorClient({ url, timeoutMs: opts.timeoutMs ?? 60_000 });
  // /supported is awaited at startup: a black-holed facilitator must not hold the service up.
  const discovery = new HTTPFacilitatorClient({ url, timeoutMs: 5_000 });
  let kinds: SupportedKind[] | undefined;
  let lastAttempt = -Infinity;
  let inFlight: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    if (kinds || inFlight || opts.now() - lastAttempt < SUPPORTED_RETRY_MS) return inFlight ?? Promise.resolve();
    lastAttempt = opts.now();
    inFlight = discovery
      .getSupported()
      .then((res) => {
        kinds = res.kinds.filter((k) => k.x402Version === 2 && k.scheme === 'exact');
      })
      .catch(() => undefined) // unknown for now; retried on a later call
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  async function verifyAndSettle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<ExactOutcome> {
    let verified: VerifyResponse;
    try {
      verified = await client.verify(payload, requirements);
    } catch (err) {
      if (!(err instanceof VerifyError)) return unreachable('verify', err);
      verified = { isValid: false, invalidReason: err.invalidReason, invalidMessage: err.invalidMessage, payer: err.payer };
    }
    if (!verified.isValid) {
      const reason = verified.invalidReason ?? 'invalid_payment';
      return { ok: false, reason, phase: 'verify', detail: verified.invalidMessage ?? reason, ...(verified.payer ? { payer: verified.payer } : {}) };
    }

    let settled: SettleResponse;
    try {
      settled = await client.settle(payload, requirements);
    } catch (err) {
      if (err instanceof FacilitatorTimeoutError) {
        // The facilitator may still settle: presenting the same payload again resolves it.
        return unreachable('settle', err, 'settlement outcome unknown (facilitator timed out); retry with the same payment');
      }
      if (!(err instanceof SettleError)) return unreachable('settle', err);
      settled = { success: false, errorReason: err.errorReason, errorMessage: err.errorMessage, payer: err.payer, transaction: err.transaction, network: err.network };
    }
    const payer = settled.payer ?? verified.payer ?? '';
    if (!settled.success) {
      const reason = settled.errorReason ?? 'settle_failed';
      return {
        ok: false,
        reason,
        phase: 'settle',
        detail: settled.errorMessage ?? reason,
        ...(settled.transaction ? { transaction: settled.transaction } : {}),
        ...(payer ? { payer } : {}),
      };
    }
    return { ok: true, transaction: settled.transaction, payer, amount: BigInt(requirements.amount) };
  }

  return {
    url,
    kind: (network) => kinds?.find((k) => k.network === network),
    known: () => kinds !== undefined,
    refresh,
    verifyAndSettle,
  };
}

function unreachable(op: string, err: unknown, detail?: string): ExactOutcome {
  return { ok: false, reason: 'facilitator_unreachable', phase: op === 'verify' ? 'verify' : 'settle', detail: detail ?? `facilitator ${op}: ${errorText(err)}`, unreachable: true };
}
