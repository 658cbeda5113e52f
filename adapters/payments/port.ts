/**
 * Payments as the purchase and top-up commands see them: what to ask for (x402 requirements) and
 * "collect this proof for this amount" — verified on chain (tx hash / signature) or verified and
 * settled (x402 exact payload), by our own settler or an external facilitator.
 */
export type PaymentNetwork = 'base' | 'solana';

/** One entry of x402 v2 `accepts[]`. Amounts are strings of atomic units (micro-USDC). */
export interface X402Requirement {
  scheme: 'exact';
  network: string; // CAIP-2: eip155:<chainId> | solana:<genesis prefix>
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: Record<string, unknown>;
}

/** What the 402 body shows per network in the seed's own terms. */
export interface NetworkInfo {
  network: PaymentNetwork;
  caip2: string;
  recipient: string;
  asset: string;
}

export interface Collected {
  ok: true;
  network: PaymentNetwork;
  /** CAIP-2 id of the chain (eip155:8453, solana:…): what the PAYMENT-RESPONSE header reports. */
  caip2: string;
  proof: 'tx_hash' | 'x402_exact';
  /**
   * Uniqueness key of this payment, for the claim stream `payment-<claimKey>`: the same money can
   * never buy twice. tx-hash proofs: `<network>-<tx hash or signature, normalised>`; settled x402
   * exact payloads: the same, for their settlement transaction, so presenting that transaction
   * again as a tx-hash proof yields the same key.
   */
  claimKey: string;
  /** The on-chain transaction that moved the money (tx hash on Base, signature on Solana). */
  transaction: string;
  payer: string;
  amountMicro: bigint;
}

export type RejectionCode =
  | 'PAYMENT_MALFORMED'          // 400: header is neither a tx hash/signature nor a decodable x402 payload
  | 'PAYMENT_NETWORK_UNSUPPORTED' // 400: a network this server does not accept
  | 'PAYMENT_NOT_FOUND'          // 402: no such transaction
  | 'PAYMENT_UNCONFIRMED'        // 402: not enough confirmations yet (retry later)
  | 'PAYMENT_TX_FAILED'          // 402: the transaction reverted / failed
  | 'PAYMENT_WRONG_TOKEN'        // 402: not USDC
  | 'PAYMENT_WRONG_RECIPIENT'    // 402: USDC went to someone else
  | 'PAYMENT_UNDERPAID'          // 402: less than the price minus the 2% tolerance
  | 'PAYMENT_INVALID'            // 402: x402 payload failed verification (signature, expiry, nonce used, …)
  | 'PAYMENT_SETTLEMENT_FAILED'  // 502: verified but settling on chain failed
  | 'PAYMENT_CHAIN_UNAVAILABLE'; // 503: RPC/facilitator unreachable

export interface Rejected {
  ok: false;
  code: RejectionCode;
  status: 400 | 402 | 502 | 503;
  message: string;
  details: Record<string, unknown>;
}

export interface PaymentProcessor {
  /** Networks this server accepts, as configured. */
  networks(): NetworkInfo[];
  /** x402 v2 `accepts[]` for a price. */
  requirements(amountMicro: bigint): X402Requirement[];
  /** Parses Payment-Signature / X-PAYMENT and collects the money. Never throws for bad input. */
  collect(header: string, amountMicro: bigint): Promise<Collected | Rejected>;
  close(): Promise<void>;
}
