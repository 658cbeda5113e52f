// Solana rail: USDC signature proofs via verifySolanaUsdcTransfer, x402 exact via
// createSolanaExactFacilitator with our fee payer key.
import { Connection } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, getTransactionDecoder, type KeyPairSigner } from '@solana/kit';
import type { Network } from '@x402/core/types';
import { V1_TO_V2_NETWORK_MAP } from '@x402/svm';
import { verifySolanaUsdcTransfer, type UsdcTransferFailureReason } from '../chains/solana/usdc-transfer.ts';
import { createSolanaExactFacilitator, fetchSolanaNetworkId } from '../chains/solana/x402-exact.ts';
import type { SolanaConfig } from './config.ts';
import type { Collected, RejectionCode } from './port.ts';
import type { ExactOutcome, Rail } from './rail.ts';
import { errorText, looksLikeTransportError, reject, unavailable } from './rejections.ts';

const FAILURE_CODE: Record<UsdcTransferFailureReason, RejectionCode> = {
  malformed_signature: 'PAYMENT_MALFORMED',
  tx_not_found: 'PAYMENT_NOT_FOUND',
  tx_failed: 'PAYMENT_TX_FAILED',
  no_usdc_transfer: 'PAYMENT_WRONG_TOKEN',
  wrong_token: 'PAYMENT_WRONG_TOKEN',
  wrong_recipient: 'PAYMENT_WRONG_RECIPIENT',
  underpaid: 'PAYMENT_UNDERPAID',
};
const FAILURE_MESSAGE: Record<UsdcTransferFailureReason, string> = {
  malformed_signature: 'not a Solana transaction signature',
  tx_not_found: 'no such transaction on Solana',
  tx_failed: 'the Solana transaction failed',
  no_usdc_transfer: 'the transaction moved no USDC to the recipient',
  wrong_token: 'the transaction paid the recipient in another token than USDC',
  wrong_recipient: 'the USDC went to another wallet than the recipient',
  underpaid: 'the transaction paid less USDC than the price (minus tolerance)',
};

export interface SolanaRailOptions {
  tolerancePpm: number;
  maxTimeoutSeconds: number;
  /** Settle exact payloads with SOLANA_FEE_PAYER_SECRET (false when a facilitator does it). */
  ownSettlement: boolean;
  /** Fee payer an external facilitator advertises for our network, once known. */
  externalFeePayer: (network: string) => string | undefined;
}

export async function createSolanaRail(cfg: SolanaConfig, opts: SolanaRailOptions): Promise<Rail> {
  const connection = new Connection(cfg.rpcUrl, 'confirmed');
  let network: Network;
  try {
    network = (cfg.network as Network | undefined) ?? (await fetchSolanaNetworkId(cfg.rpcUrl));
  } catch (err) {
    throw new Error(`Solana payments: cannot reach SOLANA_RPC_URL for its genesis hash (or set SOLANA_NETWORK): ${errorText(err)}`, { cause: err });
  }
  let feePayer: KeyPairSigner | undefined;
  if (opts.ownSettlement && cfg.feePayerSecret) {
    try {
      feePayer = await createKeyPairSignerFromBytes(cfg.feePayerSecret.reveal());
    } catch {
      throw new Error('SOLANA_FEE_PAYER_SECRET is not a valid ed25519 secret key (public half does not match)');
    }
  }
  const exact = feePayer ? createSolanaExactFacilitator({ rpcUrl: cfg.rpcUrl, network, feePayer }) : undefined;

  const collectTransaction: Rail['collectTransaction'] = async (signature, amountMicro, check = {}) => {
    const input = {
      connection,
      signature,
      usdcMint: cfg.usdcMint,
      recipient: cfg.recipient,
      expectedAmount: amountMicro,
      tolerancePpm: check.tolerancePpm ?? opts.tolerancePpm,
    };
    const base = { network: 'solana', transaction: signature };
    try {
      const res = await verifySolanaUsdcTransfer(input);
      if (res.ok) {
        const collected: Collected = {
          ok: true,
          network: 'solana',
          caip2: network,
          proof: check.proof ?? 'tx_hash',
          claimKey: `solana-${signature}`,
          transaction: signature,
          payer: res.payer,
          amountMicro: res.amount,
        };
        return collected;
      }
      const details: Record<string, unknown> = { ...base, reason: res.reason, detail: res.detail };
      if (res.reason === 'tx_not_found') {
        // Seen by the cluster but below 'confirmed' is worth a retry; unknown is not.
        const { value } = await connection.getSignatureStatuses([signature], { searchTransactionHistory: true });
        const status = value[0];
        if (status) {
          return reject('PAYMENT_UNCONFIRMED', 'the Solana transaction is not confirmed yet; retry shortly', {
            ...details,
            confirmationStatus: status.confirmationStatus ?? 'processed',
          });
        }
      }
      if (res.reason === 'underpaid') {
        const paid = await verifySolanaUsdcTransfer({ ...input, tolerancePpm: 1_000_000 });
        Object.assign(details, { expectedMicro: amountMicro, paidMicro: paid.ok ? paid.amount : undefined, tolerancePpm: input.tolerancePpm });
      }
      return reject(FAILURE_CODE[res.reason], FAILURE_MESSAGE[res.reason], details);
    } catch (err) {
      return unavailable('the Solana RPC', err, base);
    }
  };

  const settleExact = exact
    ? async (payload: Parameters<typeof exact.settle>[0], requirements: Parameters<typeof exact.settle>[1]): Promise<ExactOutcome> => {
        try {
          const res = await exact.settle(payload, requirements);
          if (res.ok) return { ok: true, transaction: res.signature, payer: res.payer, amount: BigInt(requirements.amount) };
          const settlePhase = res.reason === 'settlement_failed' || res.reason === 'settlement_pending';
          return {
            ok: false,
            reason: res.reason === 'invalid_payload' ? 'invalid_payload' : res.x402Reason,
            phase: settlePhase ? 'settle' : 'verify',
            detail: res.detail,
            ...(res.signature ? { transaction: res.signature } : {}),
            ...(/simulation_failed|transaction_failed/.test(res.x402Reason) && looksLikeTransportError(res.detail) ? { unreachable: true } : {}),
          };
        } catch (err) {
          return { ok: false, reason: 'rpc_error', phase: 'verify', detail: errorText(err), unreachable: true };
        }
      }
    : undefined;

  return {
    info: { network: 'solana', caip2: network, recipient: cfg.recipient, asset: cfg.usdcMint },
    label: 'Solana',
    v1Names: Object.entries(V1_TO_V2_NETWORK_MAP)
      .filter(([, caip2]) => caip2 === network)
      .map(([name]) => name),
    requirement: (amountMicro) => {
      if (amountMicro <= 0n) throw new RangeError(`amount must be positive, got ${amountMicro}`);
      // Without a fee payer no client can build an exact transaction; Solana is still listed so
      // a client can send USDC itself and present the transaction signature instead.
      const payer = feePayer?.address ?? (opts.ownSettlement ? undefined : opts.externalFeePayer(network));
      return {
        scheme: 'exact',
        network,
        amount: amountMicro.toString(),
        asset: cfg.usdcMint,
        payTo: cfg.recipient,
        maxTimeoutSeconds: opts.maxTimeoutSeconds,
        extra: payer ? { feePayer: payer } : {},
      };
    },
    sameAddress: (a, b) => a === b,
    collectTransaction,
    // @x402/svm console.errors a stack for undecodable transactions; garbage stops here instead.
    precheck: (payload) => {
      const tx = payload.payload['transaction'];
      try {
        if (typeof tx !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(tx)) throw new Error('not base64');
        getTransactionDecoder().decode(Buffer.from(tx, 'base64'));
        return undefined;
      } catch {
        const reason = 'invalid_exact_svm_payload_transaction_could_not_be_decoded';
        return { ok: false, reason, phase: 'verify', detail: 'payload.transaction is not a base64 Solana transaction' };
      }
    },
    ...(settleExact ? { settleExact } : {}),
    // Our exact settler reports the landed signature itself (it is deterministic), and a
    // facilitator may return it; there is nothing else to search by.
    findSettlement: async () => undefined,
  };
}
