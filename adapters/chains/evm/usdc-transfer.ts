// Verifies a "I paid, here is the tx hash" proof: a mined, successful tx that moved enough
// USDC (the configured token contract) to our recipient.
import {
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  erc20Abi,
  isAddressEqual,
  parseEventLogs,
  type Address,
  type Hash,
  type PublicClient,
} from 'viem';

export type UsdcTransferFailure =
  | 'malformed_tx_hash'
  | 'tx_not_found'
  | 'tx_failed'
  | 'unconfirmed'
  | 'no_usdc_transfer'
  | 'wrong_token'
  | 'wrong_recipient'
  | 'underpaid';

export type UsdcTransferResult =
  | {
      ok: true;
      /** Sender of the first matching Transfer log (the token holder, not necessarily tx.from). */
      from: Address;
      to: Address;
      /** Sum of all USDC Transfer logs to the recipient in this tx, micro-USDC. */
      amount: bigint;
      blockNumber: bigint;
      /** Log index of the first matching Transfer; (txHash, logIndex) identifies the payment. */
      logIndex: number;
      /** Blocks from the tx's to the head; null when one confirmation was asked for (the receipt is it, so the head is not read). */
      confirmations: bigint | null;
    }
  | { ok: false; reason: UsdcTransferFailure; detail: string };

export interface VerifyUsdcTransferInput {
  client: PublicClient;
  txHash: string;
  usdc: Address;
  recipient: Address;
  /** micro-USDC */
  expectedAmount: bigint;
  /** Accepted shortfall in parts per million; default 20 000 (2 %). */
  tolerancePpm?: number;
  /** Blocks including the tx's own; default 1. */
  minConfirmations?: number;
}

export const DEFAULT_TOLERANCE_PPM = 20_000;
const PPM = 1_000_000n;
const TX_HASH_RE = /^0x[0-9a-fA-F]{64}$/;

export async function verifyUsdcTransfer(input: VerifyUsdcTransferInput): Promise<UsdcTransferResult> {
  const { client, usdc, recipient, expectedAmount } = input;
  const tolerancePpm = input.tolerancePpm ?? DEFAULT_TOLERANCE_PPM;
  const minConfirmations = BigInt(input.minConfirmations ?? 1);
  // Caller bugs, not payment failures: fail loudly.
  if (!Number.isInteger(tolerancePpm) || tolerancePpm < 0 || tolerancePpm > 1_000_000) {
    throw new RangeError(`tolerancePpm must be an integer in [0, 1e6], got ${tolerancePpm}`);
  }
  if (expectedAmount <= 0n) throw new RangeError(`expectedAmount must be positive, got ${expectedAmount}`);

  if (!TX_HASH_RE.test(input.txHash)) {
    return fail('malformed_tx_hash', 'expected 0x followed by 64 hex characters');
  }
  const txHash = input.txHash.toLowerCase() as Hash;

  const receipt = await getReceipt(client, txHash);
  if (!receipt) {
    // A tx still in the mempool is worth retrying; an unknown one is not.
    return (await isPending(client, txHash))
      ? fail('unconfirmed', 'transaction is pending (not yet mined)')
      : fail('tx_not_found', `no transaction ${txHash} on this chain`);
  }
  if (receipt.status !== 'success') return fail('tx_failed', `transaction reverted in block ${receipt.blockNumber}`);

  // strict parsing skips look-alike events such as ERC-721 Transfer (tokenId indexed).
  const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs });
  const isUsdc = (a: Address) => isAddressEqual(a, usdc);
  const toRecipient = (a: Address) => isAddressEqual(a, recipient);
  const paid = transfers.filter((l) => isUsdc(l.address) && toRecipient(l.args.to));

  const first = paid[0];
  if (!first) {
    // Permanent content failures are reported before confirmations, so callers don't wait for nothing.
    const usdcElsewhere = transfers.find((l) => isUsdc(l.address));
    if (usdcElsewhere) {
      return fail('wrong_recipient', `USDC went to ${usdcElsewhere.args.to}, not ${recipient}`);
    }
    const otherToken = transfers.find((l) => toRecipient(l.args.to));
    if (otherToken) return fail('wrong_token', `recipient received token ${otherToken.address}, not USDC ${usdc}`);
    return fail('no_usdc_transfer', 'transaction has no ERC-20 Transfer to the recipient');
  }

  const amount = paid.reduce((sum, l) => sum + l.args.value, 0n);
  // amount >= expected * (1 - tolerance), kept in integers.
  if (amount * PPM < expectedAmount * (PPM - BigInt(tolerancePpm))) {
    return fail('underpaid', `paid ${amount} micro-USDC, expected ${expectedAmount} (tolerance ${tolerancePpm} ppm)`);
  }

  // A mined receipt is its first confirmation: only more than one needs the head (a round trip per payment).
  let confirmations: bigint | null = null;
  if (minConfirmations > 1n) {
    const head = await client.getBlockNumber({ cacheTime: 0 });
    confirmations = head >= receipt.blockNumber ? head - receipt.blockNumber + 1n : 0n;
    if (confirmations < minConfirmations) {
      return fail('unconfirmed', `${confirmations} of ${minConfirmations} confirmations`);
    }
  }

  return {
    ok: true,
    from: first.args.from,
    to: first.args.to,
    amount,
    blockNumber: receipt.blockNumber,
    logIndex: first.logIndex,
    confirmations,
  };
}

function fail(reason: UsdcTransferFailure, detail: string): UsdcTransferResult {
  return { ok: false, reason, detail };
}

async function getReceipt(client: PublicClient, hash: Hash) {
  try {
    return await client.getTransactionReceipt({ hash });
  } catch (err) {
    if (err instanceof TransactionReceiptNotFoundError) return undefined;
    throw err;
  }
}

async function isPending(client: PublicClient, hash: Hash): Promise<boolean> {
  try {
    await client.getTransaction({ hash });
    return true;
  } catch (err) {
    if (err instanceof TransactionNotFoundError) return false;
    throw err;
  }
}
