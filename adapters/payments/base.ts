// Base (EVM) rail: USDC tx-hash proofs via verifyUsdcTransfer, x402 exact (EIP-3009) via
// createExactEvm with our settler key.
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  isAddressEqual,
  parseAbiItem,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { verifyUsdcTransfer, type UsdcTransferFailure } from '../chains/evm/usdc-transfer.ts';
import { X402_ERROR_CODE, createExactEvm, networkOf, readTokenDomain, type ExactEvm } from '../chains/evm/x402-exact.ts';
import type { BaseConfig } from './config.ts';
import type { Collected, RejectionCode } from './port.ts';
import type { ExactOutcome, Rail } from './rail.ts';
import { errorText, looksLikeTransportError, reject, unavailable } from './rejections.ts';
import { rpcFetch } from '../chains/evm/rpc-fetch.ts';

/** How far back a replayed authorization's settlement is searched (~2.8 h of 2 s Base blocks). */
export const SETTLEMENT_LOOKBACK_BLOCKS = 5_000n;
const authorizationUsed = parseAbiItem('event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)');

const FAILURE_CODE: Record<UsdcTransferFailure, RejectionCode> = {
  malformed_tx_hash: 'PAYMENT_MALFORMED',
  tx_not_found: 'PAYMENT_NOT_FOUND',
  tx_failed: 'PAYMENT_TX_FAILED',
  unconfirmed: 'PAYMENT_UNCONFIRMED',
  no_usdc_transfer: 'PAYMENT_WRONG_TOKEN',
  wrong_token: 'PAYMENT_WRONG_TOKEN',
  wrong_recipient: 'PAYMENT_WRONG_RECIPIENT',
  underpaid: 'PAYMENT_UNDERPAID',
};
const FAILURE_MESSAGE: Record<UsdcTransferFailure, string> = {
  malformed_tx_hash: 'not a Base transaction hash',
  tx_not_found: 'no such transaction on Base',
  tx_failed: 'the Base transaction reverted',
  unconfirmed: 'the Base transaction does not have enough confirmations yet; retry shortly',
  no_usdc_transfer: 'the transaction moved no USDC to the recipient',
  wrong_token: 'the transaction paid the recipient in another token than USDC',
  wrong_recipient: 'the USDC went to another address than the recipient',
  underpaid: 'the transaction paid less USDC than the price (minus tolerance)',
};

export interface BaseRailOptions {
  tolerancePpm: number;
  maxTimeoutSeconds: number;
  /** Epoch milliseconds, for authorization validity windows. */
  now: () => number;
  /** Settle exact payloads with X402_SETTLER_PRIVATE_KEY (false when a facilitator does it). */
  ownSettlement: boolean;
}

/** Connects to the RPC, checks the chain id and reads the token's EIP-712 domain. */
export async function createBaseRail(cfg: BaseConfig, opts: BaseRailOptions): Promise<Rail> {
  const chain = defineChain({
    id: cfg.chainId,
    name: networkOf(cfg.chainId),
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpcUrl] } },
  });
  const transport = http(cfg.rpcUrl, { retryCount: 1, timeout: 15_000, fetchFn: rpcFetch });
  const client = createPublicClient({ chain, transport, pollingInterval: 500 }) as PublicClient;

  let domain;
  try {
    const chainId = await client.getChainId();
    if (chainId !== cfg.chainId) throw new Error(`BASE_CHAIN_ID is ${cfg.chainId} but BASE_RPC_URL serves chain ${chainId}`);
    domain = await readTokenDomain(client, cfg.usdc);
  } catch (err) {
    throw new Error(`Base payments: cannot use BASE_RPC_URL / BASE_USDC_ADDRESS ${cfg.usdc}: ${errorText(err)}`, { cause: err });
  }

  let exact: ExactEvm | undefined;
  if (opts.ownSettlement && cfg.settlerKey) {
    const settler = createWalletClient({ chain, transport, account: privateKeyToAccount(cfg.settlerKey.reveal()) });
    exact = createExactEvm({
      publicClient: client,
      settler,
      chainId: cfg.chainId,
      usdc: cfg.usdc,
      payTo: cfg.recipient,
      tokenDomain: domain,
      maxTimeoutSeconds: opts.maxTimeoutSeconds,
      now: opts.now,
    });
  }
  const caip2 = networkOf(cfg.chainId);
  const tokenDomain = domain;

  const collectTransaction: Rail['collectTransaction'] = async (tx, amountMicro, check = {}) => {
    const input = {
      client,
      txHash: tx,
      usdc: cfg.usdc,
      recipient: cfg.recipient,
      expectedAmount: amountMicro,
      tolerancePpm: check.tolerancePpm ?? opts.tolerancePpm,
      minConfirmations: check.minConfirmations ?? cfg.minConfirmations,
    };
    const base = { network: 'base', transaction: tx.toLowerCase() };
    try {
      const res = await verifyUsdcTransfer(input);
      if (res.ok) {
        const collected: Collected = {
          ok: true,
          network: 'base',
          caip2,
          proof: check.proof ?? 'tx_hash',
          claimKey: `base-${tx.toLowerCase()}`,
          transaction: tx.toLowerCase(),
          payer: res.from,
          amountMicro: res.amount,
        };
        return collected;
      }
      const details: Record<string, unknown> = { ...base, reason: res.reason, detail: res.detail };
      if (res.reason === 'underpaid') {
        // The adapter reports the shortfall as text; asking again without a floor gives the sum.
        const paid = await verifyUsdcTransfer({ ...input, tolerancePpm: 1_000_000, minConfirmations: 1 });
        Object.assign(details, { expectedMicro: amountMicro, paidMicro: paid.ok ? paid.amount : undefined, tolerancePpm: input.tolerancePpm });
      }
      if (res.reason === 'unconfirmed') details['minConfirmations'] = input.minConfirmations;
      return reject(FAILURE_CODE[res.reason], FAILURE_MESSAGE[res.reason], details);
    } catch (err) {
      return unavailable('the Base RPC', err, base);
    }
  };

  const settleExact = exact
    ? async (payload: PaymentPayload, requirements: PaymentRequirements): Promise<ExactOutcome> => {
        try {
          const res = await exact.settle(payload, requirements);
          if (res.ok) return { ok: true, transaction: res.txHash.toLowerCase(), payer: res.payer, amount: res.amount };
          const settlePhase = ['settle_failed', 'settle_reverted', 'settlement_pending', 'transfer_event_mismatch'].includes(res.reason);
          return {
            ok: false,
            reason: X402_ERROR_CODE[res.reason],
            phase: settlePhase ? 'settle' : 'verify',
            detail: res.detail,
            ...(res.txHash ? { transaction: res.txHash.toLowerCase() } : {}),
            ...(res.payer ? { payer: res.payer } : {}),
            ...(res.reason === 'settle_failed' && looksLikeTransportError(res.detail) ? { unreachable: true } : {}),
          };
        } catch (err) {
          // verify reads authorizationState/balanceOf and simulates; a throw there is the RPC.
          return { ok: false, reason: 'rpc_error', phase: 'verify', detail: errorText(err), unreachable: true };
        }
      }
    : undefined;

  // AuthorizationUsed(authorizer, nonce) is emitted exactly once, by the tx that consumed the
  // authorization; anything it moved is then checked like any tx-hash proof.
  const findSettlement: Rail['findSettlement'] = async (payload) => {
    const auth = (payload.payload as { authorization?: { from?: unknown; nonce?: unknown } }).authorization;
    if (typeof auth?.from !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(auth.from)) return undefined;
    if (typeof auth.nonce !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(auth.nonce)) return undefined;
    const head = await client.getBlockNumber({ cacheTime: 0 });
    const logs = await client.getLogs({
      address: cfg.usdc,
      event: authorizationUsed,
      args: { authorizer: getAddress(auth.from.toLowerCase()), nonce: auth.nonce as Hex },
      fromBlock: head > SETTLEMENT_LOOKBACK_BLOCKS ? head - SETTLEMENT_LOOKBACK_BLOCKS : 0n,
      toBlock: head,
    });
    return logs.at(-1)?.transactionHash?.toLowerCase();
  };

  return {
    info: { network: 'base', caip2, recipient: cfg.recipient, asset: cfg.usdc },
    label: 'Base',
    v1Names: Object.entries(EVM_NETWORK_CHAIN_ID_MAP)
      .filter(([, id]) => id === cfg.chainId)
      .map(([name]) => name),
    requirement: (amountMicro) => {
      if (amountMicro <= 0n) throw new RangeError(`amount must be positive, got ${amountMicro}`);
      return {
        scheme: 'exact',
        network: caip2,
        amount: amountMicro.toString(),
        asset: cfg.usdc,
        payTo: cfg.recipient,
        maxTimeoutSeconds: opts.maxTimeoutSeconds,
        extra: { name: tokenDomain.name, version: tokenDomain.version },
      };
    },
    sameAddress: (a, b) => /^0x[0-9a-fA-F]{40}$/.test(a) && /^0x[0-9a-fA-F]{40}$/.test(b) && isAddressEqual(a as Address, b as Address),
    collectTransaction,
    ...(settleExact ? { settleExact } : {}),
    findSettlement,
  };
}
