// What the processor needs from one chain ("rail"): requirements, on-chain proof checks, and
// settling an x402 exact payload with our own key.
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import type { Collected, NetworkInfo, Rejected, X402Requirement } from './port.ts';

/** Result of settling an exact payload, before it becomes Collected/Rejected. */
export type ExactOutcome =
  | { ok: true; transaction: string; payer: string; amount: bigint }
  | {
      ok: false;
      /** x402 wire reason (e.g. invalid_exact_evm_nonce_already_used); see codeForX402Reason. */
      reason: string;
      phase: 'verify' | 'settle';
      detail: string;
      /** The settlement transaction when one is known (pending, reverted, already settled). */
      transaction?: string;
      payer?: string;
      /** The RPC or facilitator could not be reached: PAYMENT_CHAIN_UNAVAILABLE. */
      unreachable?: boolean;
    };

export interface ProofCheck {
  /** Default: the configured minimum (Base) / 'confirmed' commitment (Solana). */
  minConfirmations?: number;
  /** Default: the configured tolerance. */
  tolerancePpm?: number;
  /** How the payment reached us; only changes the `proof` field of the result. */
  proof?: Collected['proof'];
}

export interface Rail {
  readonly info: NetworkInfo;
  /** x402 v1 network names (e.g. "base", "solana-devnet") that denote this chain. */
  readonly v1Names: readonly string[];
  /** Human name for messages and variable hints, e.g. "Base". */
  readonly label: string;
  requirement(amountMicro: bigint): X402Requirement;
  /** Same on-chain address? (EVM ignores case; Solana base58 is exact.) */
  sameAddress(a: string, b: string): boolean;
  /** Verifies a transaction that claims to have paid `amountMicro` to our recipient. */
  collectTransaction(tx: string, amountMicro: bigint, check?: ProofCheck): Promise<Collected | Rejected>;
  /** Our own settler for exact payloads; undefined when no key is configured. */
  readonly settleExact?: (payload: PaymentPayload, requirements: PaymentRequirements) => Promise<ExactOutcome>;
  /** Structural check of an exact payload before any verifier sees it; a failure, or undefined if fine. */
  precheck?(payload: PaymentPayload): ExactOutcome | undefined;
  /** For a replayed exact payload: the transaction that already settled it, if it can be found. */
  findSettlement(payload: PaymentPayload): Promise<string | undefined>;
}
