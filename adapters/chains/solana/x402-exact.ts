// x402 v2 "exact" scheme on Solana, server side, acting as its own facilitator.
//
// The buyer's wallet builds and partially signs a v0 transaction
// [SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked(payer ATA → payTo ATA), Memo]
// whose fee payer is our key (`extra.feePayer`). We verify it with the official
// @x402/svm facilitator code (fee payer isolation, mint, destination ATA, exact amount,
// signatures, simulation), then co-sign as fee payer and submit it.
//
// On top of the official checks we detect replays against the chain itself: our fee-payer
// signature over the message is deterministic (Ed25519), so we know the settlement signature
// before sending and can ask the RPC whether it already landed. That survives restarts and
// multiple instances, unlike the in-memory duplicate cache of the official scheme.
import { createSolanaRpc, getBase58Decoder, signBytes, signature as toSignature, type KeyPairSigner } from '@solana/kit';
import {
  decodeTransactionFromPayload,
  toFacilitatorSvmSigner,
  validateSvmAddress,
  type ExactSvmSchemeOptions,
  type FacilitatorRpcClient,
} from '@x402/svm';
import { ExactSvmScheme } from '@x402/svm/exact/facilitator';
import { parsePaymentPayload } from '@x402/core/schemas';
import type { Network, PaymentPayload, PaymentRequirements } from '@x402/core/types';

export const X402_VERSION = 2;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$|^(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;

/** CAIP-2 id of a Solana cluster: "solana:" + the first 32 characters of its genesis hash. */
export function solanaNetworkId(genesisHash: string): Network {
  return `solana:${genesisHash.slice(0, 32)}`;
}

export async function fetchSolanaNetworkId(rpcUrl: string): Promise<Network> {
  return solanaNetworkId(await createSolanaRpc(rpcUrl).getGenesisHash().send());
}

export type SolanaExactRequirementsInput = {
  network: Network;
  /** USDC mint address. */
  usdcMint: string;
  /** Seller wallet; the payment goes to its associated token account, which must exist. */
  payTo: string;
  /** Micro-USDC. */
  amount: bigint;
  /** Our fee payer address (SolanaExactFacilitator.feePayer). */
  feePayer: string;
  maxTimeoutSeconds?: number;
  /** If set, the payment must carry exactly this memo (binds a payment to an order). */
  memo?: string;
};

export function buildSolanaExactRequirements(input: SolanaExactRequirementsInput): PaymentRequirements {
  if (!input.network.startsWith('solana:')) throw new RangeError(`not a Solana network: ${input.network}`);
  if (input.amount <= 0n) throw new RangeError('amount must be positive');
  for (const [name, address] of [['usdcMint', input.usdcMint], ['payTo', input.payTo], ['feePayer', input.feePayer]] as const) {
    if (!validateSvmAddress(address)) throw new RangeError(`${name} is not a Solana address: ${address}`);
  }
  return {
    scheme: 'exact',
    network: input.network,
    amount: input.amount.toString(),
    asset: input.usdcMint,
    payTo: input.payTo,
    maxTimeoutSeconds: input.maxTimeoutSeconds ?? 60,
    extra: { feePayer: input.feePayer, ...(input.memo === undefined ? {} : { memo: input.memo }) },
  };
}

export type SolanaExactFailureReason =
  | 'invalid_payload' // not an x402 v2 payload at all
  | 'already_settled' // replay: this exact payment already landed (or is being settled)
  | 'invalid_payment' // well-formed, but rejected by verification (see x402Reason)
  | 'settlement_failed' // sent, but failed or could not be sent
  | 'settlement_pending'; // sent, outcome unknown yet: retry settle with the same payload to reconcile

export type SolanaExactFailure = { ok: false; reason: SolanaExactFailureReason; x402Reason: string; detail: string; signature?: string };
export type SolanaExactVerifyResult = { ok: true; payer: string } | SolanaExactFailure;
export type SolanaExactSettleResult = { ok: true; signature: string; payer: string; network: Network } | SolanaExactFailure;

export type SolanaExactFacilitator = {
  network: Network;
  /** Put this in requirements.extra.feePayer; it needs SOL for fees. */
  feePayer: string;
  verify(payload: unknown, requirements: PaymentRequirements): Promise<SolanaExactVerifyResult>;
  settle(payload: unknown, requirements: PaymentRequirements): Promise<SolanaExactSettleResult>;
};

export type SolanaExactFacilitatorConfig = {
  rpcUrl: string;
  network: Network;
  feePayer: KeyPairSigner;
  /** Passed to the official scheme; defaults below cap what a payer can make us spend on fees. */
  schemeOptions?: ExactSvmSchemeOptions;
};

// The official client asks for 20k CU at 1 µlamport/CU and needs two signatures.
const DEFAULT_SCHEME_OPTIONS: ExactSvmSchemeOptions = {
  maxComputeUnits: 200_000,
  maxPriorityFeeMicroLamports: 100_000,
  maxRequiredSignatures: 2,
};

const fail = (reason: SolanaExactFailureReason, x402Reason: string, detail: string, signature?: string): SolanaExactFailure =>
  ({ ok: false, reason, x402Reason, detail, ...(signature ? { signature } : {}) });

export function createSolanaExactFacilitator(config: SolanaExactFacilitatorConfig): SolanaExactFacilitator {
  const { network, feePayer } = config;
  const rpc = createSolanaRpc(config.rpcUrl);
  // A per-network map: the bare kit RPC is a Proxy that @x402/svm's duck-typing misreads.
  const signer = toFacilitatorSvmSigner(feePayer, { [network]: rpc as unknown as FacilitatorRpcClient });
  const scheme = new ExactSvmScheme(signer, undefined, { ...DEFAULT_SCHEME_OPTIONS, ...config.schemeOptions });

  // Wrapped, so nothing a client puts into its JSON can pose as our own result.
  const parse = (raw: unknown): { payload: PaymentPayload } | { failure: SolanaExactFailure } => {
    const parsed = parsePaymentPayload(raw);
    if (!parsed.success) return { failure: fail('invalid_payload', 'invalid_payload', parsed.error.message) };
    if (parsed.data.x402Version !== X402_VERSION) return { failure: fail('invalid_payload', 'invalid_payload', `x402Version must be ${X402_VERSION}`) };
    const payload = parsed.data as PaymentPayload;
    if (typeof payload.payload.transaction !== 'string' || !BASE64.test(payload.payload.transaction)) {
      return { failure: fail('invalid_payload', 'invalid_payload', 'payload.transaction must be a base64 transaction') };
    }
    return { payload };
  };

  /** The signature the transaction will have once we co-sign it, if the payload decodes. */
  const settlementSignature = async (payload: PaymentPayload): Promise<string | null> => {
    try {
      const tx = decodeTransactionFromPayload({ transaction: String(payload.payload.transaction) });
      return getBase58Decoder().decode(await signBytes(feePayer.keyPair.privateKey, tx.messageBytes));
    } catch {
      return null;
    }
  };

  const checkReplay = async (payload: PaymentPayload): Promise<SolanaExactFailure | null> => {
    const signature = await settlementSignature(payload);
    if (!signature) return null;
    const { value } = await rpc.getSignatureStatuses([toSignature(signature)], { searchTransactionHistory: true }).send();
    return value[0] ? fail('already_settled', 'duplicate_settlement', `payment already landed as ${signature}`, signature) : null;
  };

  const checkNetwork = (requirements: PaymentRequirements): SolanaExactFailure | null =>
    requirements.network === network ? null : fail('invalid_payment', 'invalid_exact_svm_network_mismatch', `requirements are for ${requirements.network}, facilitator serves ${network}`);

  return {
    network,
    feePayer: feePayer.address,

    async verify(raw, requirements) {
      const parsed = parse(raw);
      if ('failure' in parsed) return parsed.failure;
      const { payload } = parsed;
      const rejected = checkNetwork(requirements) ?? (await checkReplay(payload));
      if (rejected) return rejected;
      const res = await scheme.verify(payload, requirements);
      if (res.isValid) return { ok: true, payer: res.payer ?? '' };
      const x402Reason = res.invalidReason ?? 'invalid_exact_svm_verification_failed';
      return fail('invalid_payment', x402Reason, res.invalidMessage ?? x402Reason);
    },

    async settle(raw, requirements) {
      const parsed = parse(raw);
      if ('failure' in parsed) return parsed.failure;
      const { payload } = parsed;
      const rejected = checkNetwork(requirements) ?? (await checkReplay(payload));
      if (rejected) return rejected;
      const res = await scheme.settle(payload, requirements);
      if (res.success) return { ok: true, signature: res.transaction, payer: res.payer ?? '', network: res.network };
      const x402Reason = res.errorReason ?? 'invalid_exact_svm_transaction_failed';
      const detail = res.errorMessage ?? x402Reason;
      if (x402Reason === 'duplicate_settlement') return fail('already_settled', x402Reason, detail, res.transaction);
      if (x402Reason === 'settlement_pending') return fail('settlement_pending', x402Reason, detail, res.transaction);
      if (x402Reason === 'invalid_exact_svm_transaction_failed') return fail('settlement_failed', x402Reason, detail, res.transaction);
      return fail('invalid_payment', x402Reason, detail);
    },
  };
}
