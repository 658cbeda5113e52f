// x402 v2 `exact` scheme on EVM, server side, settled by our own key (no external facilitator):
// the buyer signs an EIP-3009 TransferWithAuthorization and we submit it to the USDC contract.
//
// Why not @x402/evm's ExactEvmScheme facilitator: it reads the wall clock (Date.now) for the
// validity window, so the window cannot be driven by an injected clock, and its failure
// diagnosis goes through Multicall3, which a bare anvil does not have. We reuse its ABI and
// EIP-712 types so the signed message is byte-for-byte what the official client produces.
import type { PaymentRequirements } from '@x402/core/types';
import { authorizationTypes, eip3009ABI } from '@x402/evm';
import {
  WaitForTransactionReceiptTimeoutError,
  getAddress,
  isAddressEqual,
  parseEventLogs,
  parseSignature,
  recoverTypedDataAddress,
  erc20Abi,
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
} from 'viem';
import { z } from 'zod';
import type { SignerClient } from './deploy.ts';

export type ExactFailure =
  | 'invalid_payload'
  | 'unsupported_scheme'
  | 'network_mismatch'
  | 'asset_mismatch'
  | 'missing_eip712_domain'
  | 'invalid_signature'
  | 'recipient_mismatch'
  | 'insufficient_amount'
  | 'not_yet_valid'
  | 'expired'
  | 'nonce_used'
  | 'insufficient_balance'
  | 'simulation_failed'
  // settle only:
  | 'settle_failed'
  | 'settle_reverted'
  | 'settlement_pending'
  | 'transfer_event_mismatch';

/** Wire code for `invalidReason`/`errorReason`: @x402/evm facilitator's code where one exists. */
export const X402_ERROR_CODE: Record<ExactFailure, string> = {
  invalid_payload: 'invalid_payload',
  unsupported_scheme: 'invalid_exact_evm_scheme',
  network_mismatch: 'invalid_exact_evm_network_mismatch',
  asset_mismatch: 'invalid_exact_evm_asset_mismatch',
  missing_eip712_domain: 'invalid_exact_evm_missing_eip712_domain',
  invalid_signature: 'invalid_exact_evm_signature',
  recipient_mismatch: 'invalid_exact_evm_recipient_mismatch',
  insufficient_amount: 'invalid_exact_evm_payload_authorization_value_mismatch',
  not_yet_valid: 'invalid_exact_evm_payload_authorization_valid_after',
  expired: 'invalid_exact_evm_payload_authorization_valid_before',
  nonce_used: 'invalid_exact_evm_nonce_already_used',
  insufficient_balance: 'invalid_exact_evm_insufficient_balance',
  simulation_failed: 'invalid_exact_evm_transaction_simulation_failed',
  settle_failed: 'invalid_exact_evm_transaction_failed',
  settle_reverted: 'invalid_exact_evm_transaction_failed',
  settlement_pending: 'settlement_pending',
  transfer_event_mismatch: 'invalid_exact_evm_transfer_event_mismatch',
};

export type ExactFailureResult = { ok: false; reason: ExactFailure; detail: string; payer?: Address; txHash?: Hash };

export type ExactVerifyResult =
  | { ok: true; payer: Address; amount: bigint; nonce: Hex; validBefore: bigint }
  | ExactFailureResult;

export type ExactSettleResult =
  | { ok: true; txHash: Hash; payer: Address; amount: bigint; nonce: Hex; blockNumber: bigint; network: string }
  | ExactFailureResult;

export interface TokenDomain {
  name: string;
  version: string;
}

export interface ExactEvmConfig {
  publicClient: PublicClient;
  /** Pays gas and submits transferWithAuthorization. */
  settler: SignerClient;
  chainId: number;
  usdc: Address;
  /** Default payTo for requirements(). */
  payTo: Address;
  /** The token's EIP-712 domain; see readTokenDomain(). */
  tokenDomain: TokenDomain;
  /** Default 300. */
  maxTimeoutSeconds?: number;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
  /** How long settle() waits for the receipt before answering settlement_pending; default 60 s. */
  receiptTimeoutMs?: number;
}

export interface ExactEvm {
  network: `eip155:${number}`;
  requirements(amount: bigint, overrides?: { payTo?: Address; maxTimeoutSeconds?: number }): PaymentRequirements;
  /** `payload` is the decoded PAYMENT-SIGNATURE header, untrusted. */
  verify(payload: unknown, requirements: PaymentRequirements): Promise<ExactVerifyResult>;
  settle(payload: unknown, requirements: PaymentRequirements): Promise<ExactSettleResult>;
}

/** Leave the settle tx this many seconds before validBefore (same margin as @x402/evm). */
export const SETTLE_MARGIN_SECONDS = 6n;
const UINT256_MAX = 2n ** 256n - 1n;

// Lower-case first: a wrong EIP-55 checksum must not make getAddress throw.
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((s) => getAddress(s.toLowerCase()));
const uint256 = z
  .string()
  .regex(/^\d{1,78}$/)
  .refine((s) => BigInt(s) <= UINT256_MAX, 'exceeds uint256');
const payloadSchema = z.object({
  x402Version: z.literal(2),
  accepted: z.object({ scheme: z.string(), network: z.string(), asset: z.string() }),
  payload: z.object({
    signature: z.string().regex(/^0x([0-9a-fA-F]{2})+$/),
    authorization: z.object({
      from: address,
      to: address,
      value: uint256,
      validAfter: uint256,
      validBefore: uint256,
      nonce: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    }),
  }),
});

export function networkOf(chainId: number): `eip155:${number}` {
  return `eip155:${chainId}`;
}

export function buildExactRequirements(p: {
  chainId: number;
  usdc: Address;
  payTo: Address;
  /** micro-USDC */
  amount: bigint;
  tokenDomain: TokenDomain;
  maxTimeoutSeconds?: number;
}): PaymentRequirements {
  if (p.amount <= 0n) throw new RangeError(`amount must be positive, got ${p.amount}`);
  return {
    scheme: 'exact',
    network: networkOf(p.chainId),
    amount: p.amount.toString(),
    asset: getAddress(p.usdc),
    payTo: getAddress(p.payTo),
    maxTimeoutSeconds: p.maxTimeoutSeconds ?? 300,
    extra: { name: p.tokenDomain.name, version: p.tokenDomain.version },
  };
}

/** Reads name() and version() from the token, i.e. the values clients must sign with. */
export async function readTokenDomain(publicClient: PublicClient, usdc: Address): Promise<TokenDomain> {
  const [name, version] = await Promise.all([
    publicClient.readContract({ address: usdc, abi: eip3009ABI, functionName: 'name' }),
    publicClient.readContract({ address: usdc, abi: eip3009ABI, functionName: 'version' }),
  ]);
  return { name, version };
}

interface Checked {
  payer: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
  v: number;
  r: Hex;
  s: Hex;
}

export function createExactEvm(cfg: ExactEvmConfig): ExactEvm {
  const network = networkOf(cfg.chainId);
  const now = cfg.now ?? Date.now;
  // Authorizations being settled right now, so a concurrent duplicate doesn't burn gas on a revert.
  const inFlight = new Set<string>();
  // Broadcasts go one at a time: viem picks the settler's tx nonce from the pending count.
  let broadcastQueue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = broadcastQueue.then(fn, fn);
    broadcastQueue = run.catch(() => undefined);
    return run;
  };

  async function check(
    raw: unknown,
    req: PaymentRequirements,
  ): Promise<{ ok: true; auth: Checked } | ExactFailureResult> {
    const parsed = payloadSchema.safeParse(raw);
    if (!parsed.success) return fail('invalid_payload', z.prettifyError(parsed.error));
    const { accepted, payload } = parsed.data;
    const a = payload.authorization;
    const payer = a.from;
    const f = (reason: ExactFailure, detail: string) => fail(reason, detail, payer);

    if (req.scheme !== 'exact' || accepted.scheme !== 'exact') {
      return f('unsupported_scheme', `scheme ${accepted.scheme} / ${req.scheme}`);
    }
    if (req.network !== network || accepted.network !== network) {
      return f('network_mismatch', `payload ${accepted.network}, requirements ${req.network}, settler ${network}`);
    }
    if (!sameAddress(req.asset, cfg.usdc) || !sameAddress(accepted.asset, cfg.usdc)) {
      return f('asset_mismatch', `payload ${accepted.asset}, requirements ${req.asset}, settler token ${cfg.usdc}`);
    }
    const name = req.extra['name'];
    const version = req.extra['version'];
    if (typeof name !== 'string' || typeof version !== 'string') {
      return f('missing_eip712_domain', 'requirements.extra needs name and version');
    }

    const message = {
      from: payer,
      to: a.to,
      value: BigInt(a.value),
      validAfter: BigInt(a.validAfter),
      validBefore: BigInt(a.validBefore),
      nonce: a.nonce as Hex,
    };
    const signature = payload.signature as Hex;
    // Only plain 65-byte EOA signatures; ERC-1271/6492 smart wallets are not supported here.
    if (signature.length !== 132) return f('invalid_signature', 'expected a 65-byte ECDSA signature');
    let signer: Address;
    let sig: ReturnType<typeof parseSignature>;
    try {
      sig = parseSignature(signature);
      signer = await recoverTypedDataAddress({
        domain: { name, version, chainId: cfg.chainId, verifyingContract: getAddress(cfg.usdc) },
        types: authorizationTypes,
        primaryType: 'TransferWithAuthorization',
        message,
        signature,
      });
    } catch (err) {
      return f('invalid_signature', errorText(err));
    }
    if (!isAddressEqual(signer, payer)) return f('invalid_signature', `signed by ${signer}, not ${payer}`);

    if (!sameAddress(req.payTo, message.to)) {
      return f('recipient_mismatch', `authorization pays ${message.to}, requirements payTo ${req.payTo}`);
    }
    const required = BigInt(req.amount);
    if (message.value < required) return f('insufficient_amount', `authorizes ${message.value}, requires ${required}`);

    const nowSec = BigInt(Math.floor(now() / 1000));
    if (message.validAfter > nowSec) return f('not_yet_valid', `validAfter ${message.validAfter} > now ${nowSec}`);
    if (message.validBefore < nowSec + SETTLE_MARGIN_SECONDS) {
      return f('expired', `validBefore ${message.validBefore}, now ${nowSec} (+${SETTLE_MARGIN_SECONDS}s margin)`);
    }

    const [used, balance] = await Promise.all([
      cfg.publicClient.readContract({
        address: cfg.usdc,
        abi: eip3009ABI,
        functionName: 'authorizationState',
        args: [payer, message.nonce],
      }),
      cfg.publicClient.readContract({ address: cfg.usdc, abi: erc20Abi, functionName: 'balanceOf', args: [payer] }),
    ]);
    if (used) return f('nonce_used', `authorization ${message.nonce} already used or canceled`);
    if (balance < message.value) return f('insufficient_balance', `balance ${balance} < ${message.value}`);

    const v = Number(sig.v ?? BigInt(sig.yParity + 27));
    const auth: Checked = { ...message, payer, v, r: sig.r, s: sig.s };
    // Catches anything the token would still reject (e.g. chain time differing from our clock).
    try {
      await cfg.publicClient.simulateContract({ ...transferCall(cfg.usdc, auth), account: cfg.settler.account });
    } catch (err) {
      return f(classifyRevert(err) ?? 'simulation_failed', errorText(err));
    }
    return { ok: true, auth };
  }

  async function verify(raw: unknown, req: PaymentRequirements): Promise<ExactVerifyResult> {
    const c = await check(raw, req);
    if (!c.ok) return c;
    const { payer, value, nonce, validBefore } = c.auth;
    return { ok: true, payer, amount: value, nonce, validBefore };
  }

  async function settle(raw: unknown, req: PaymentRequirements): Promise<ExactSettleResult> {
    const c = await check(raw, req);
    if (!c.ok) return c;
    const auth = c.auth;
    const key = `${auth.payer}:${auth.nonce}`.toLowerCase();
    if (inFlight.has(key)) return fail('nonce_used', 'this authorization is being settled already', auth.payer);
    inFlight.add(key);
    try {
      let txHash: Hash;
      try {
        txHash = await serialized(() => cfg.settler.writeContract(transferCall(cfg.usdc, auth)));
      } catch (err) {
        return fail(classifyRevert(err) ?? 'settle_failed', errorText(err), auth.payer);
      }
      return await confirm(txHash, auth);
    } finally {
      inFlight.delete(key);
    }
  }

  async function confirm(txHash: Hash, auth: Checked): Promise<ExactSettleResult> {
    const pending = (detail: string): ExactSettleResult => ({
      ok: false,
      reason: 'settlement_pending',
      detail,
      payer: auth.payer,
      txHash,
    });
    let receipt;
    try {
      receipt = await cfg.publicClient.waitForTransactionReceipt({
        hash: txHash,
        timeout: cfg.receiptTimeoutMs ?? 60_000,
      });
    } catch (err) {
      // Broadcast happened: hand back the hash so the caller can reconcile (e.g. verifyUsdcTransfer).
      return pending(err instanceof WaitForTransactionReceiptTimeoutError ? 'receipt wait timed out' : errorText(err));
    }
    if (receipt.status !== 'success') {
      const detail = `reverted in block ${receipt.blockNumber}`;
      return { ok: false, reason: 'settle_reverted', detail, payer: auth.payer, txHash };
    }
    const moved = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs }).some(
      (l) =>
        isAddressEqual(l.address, cfg.usdc) &&
        isAddressEqual(l.args.from, auth.payer) &&
        isAddressEqual(l.args.to, auth.to) &&
        l.args.value === auth.value,
    );
    if (!moved) {
      const detail = 'no matching Transfer log';
      return { ok: false, reason: 'transfer_event_mismatch', detail, payer: auth.payer, txHash };
    }
    return {
      ok: true,
      txHash,
      payer: auth.payer,
      amount: auth.value,
      nonce: auth.nonce,
      blockNumber: receipt.blockNumber,
      network,
    };
  }

  return {
    network,
    requirements: (amount, overrides = {}) =>
      buildExactRequirements({
        chainId: cfg.chainId,
        usdc: cfg.usdc,
        payTo: overrides.payTo ?? cfg.payTo,
        amount,
        tokenDomain: cfg.tokenDomain,
        maxTimeoutSeconds: overrides.maxTimeoutSeconds ?? cfg.maxTimeoutSeconds,
      }),
    verify,
    settle,
  };
}

function transferCall(usdc: Address, a: Checked) {
  return {
    address: usdc,
    abi: eip3009ABI,
    functionName: 'transferWithAuthorization',
    args: [a.payer, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.v, a.r, a.s],
  } as const;
}

// FiatToken revert strings (which MockUSDC mirrors) that map to a precise reason.
function classifyRevert(err: unknown): ExactFailure | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  if (/authorization is used or canceled/i.test(msg)) return 'nonce_used';
  if (/authorization is expired/i.test(msg)) return 'expired';
  if (/authorization is not yet valid/i.test(msg)) return 'not_yet_valid';
  if (/exceeds balance/i.test(msg)) return 'insufficient_balance';
  if (/invalid signature/i.test(msg)) return 'invalid_signature';
  return undefined;
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'shortMessage' in err && typeof err.shortMessage === 'string') {
    return err.shortMessage;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Wire strings may be any case or not addresses at all. */
function sameAddress(s: string, a: Address): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(s) && isAddressEqual(s as Address, a);
}

function fail(reason: ExactFailure, detail: string, payer?: Address): ExactFailureResult {
  return payer ? { ok: false, reason, detail, payer } : { ok: false, reason, detail };
}
