// Verifies a "I paid, here is my transaction signature" proof for Solana USDC.
//
// The proof is judged by what the chain says happened to balances, not by instruction
// parsing: meta.preTokenBalances/postTokenBalances give every touched token account's owner,
// mint and amount before and after execution, which covers transfer, transferChecked, CPI
// transfers (smart wallets) and ATAs created in the same transaction alike.
//
// Callers must still make each signature redeemable only once (the event store's job).
import { PublicKey, type Connection, type Finality, type TokenBalance } from '@solana/web3.js';
import { getBase58Encoder } from '@solana/kit';

export type UsdcTransferFailureReason =
  | 'malformed_signature'
  | 'tx_not_found'
  | 'tx_failed'
  | 'no_usdc_transfer'
  | 'wrong_token'
  | 'wrong_recipient'
  | 'underpaid';

export type UsdcTransferVerification =
  | { ok: true; signature: string; amount: bigint; payer: string; slot: number; blockTime: number | null }
  | { ok: false; reason: UsdcTransferFailureReason; detail: string };

export type VerifySolanaUsdcTransferInput = {
  connection: Connection;
  signature: string;
  usdcMint: PublicKey | string;
  /** The recipient wallet (token account owner), not its token account. */
  recipient: PublicKey | string;
  /** Micro-USDC (6 decimals). */
  expectedAmount: bigint;
  /** Accepted shortfall in parts per million; default 20_000 (2%). */
  tolerancePpm?: number;
  commitment?: Finality;
};

export const DEFAULT_TOLERANCE_PPM = 20_000;
const PPM = 1_000_000n;

function isSignature(s: string): boolean {
  try {
    return getBase58Encoder().encode(s).length === 64;
  } catch {
    return false;
  }
}

/** Net change per (owner, mint), keyed "owner mint"; accounts absent before/after count as 0. */
function tokenDeltas(pre: TokenBalance[], post: TokenBalance[]): Map<string, { owner: string | null; mint: string; delta: bigint }> {
  const byAccount = new Map<number, { owner: string | null; mint: string; pre: bigint; post: bigint }>();
  const entry = (b: TokenBalance) => {
    const e = byAccount.get(b.accountIndex) ?? { owner: b.owner ?? null, mint: b.mint, pre: 0n, post: 0n };
    byAccount.set(b.accountIndex, e);
    return e;
  };
  for (const b of pre) entry(b).pre = BigInt(b.uiTokenAmount.amount);
  for (const b of post) entry(b).post = BigInt(b.uiTokenAmount.amount);
  const deltas = new Map<string, { owner: string | null; mint: string; delta: bigint }>();
  for (const { owner, mint, pre: before, post: after } of byAccount.values()) {
    const key = `${owner ?? '?'} ${mint}`;
    const d = deltas.get(key) ?? { owner, mint, delta: 0n };
    d.delta += after - before;
    deltas.set(key, d);
  }
  return deltas;
}

export async function verifySolanaUsdcTransfer(input: VerifySolanaUsdcTransferInput): Promise<UsdcTransferVerification> {
  const { connection, signature, expectedAmount } = input;
  const tolerancePpm = input.tolerancePpm ?? DEFAULT_TOLERANCE_PPM;
  if (expectedAmount <= 0n) throw new RangeError('expectedAmount must be positive');
  if (!Number.isSafeInteger(tolerancePpm) || tolerancePpm < 0 || tolerancePpm > 1_000_000) {
    throw new RangeError('tolerancePpm must be an integer in [0, 1_000_000]');
  }
  const usdcMint = new PublicKey(input.usdcMint).toBase58();
  const recipient = new PublicKey(input.recipient).toBase58();

  if (!isSignature(signature)) return { ok: false, reason: 'malformed_signature', detail: 'not a base58 64-byte signature' };

  const tx = await connection.getParsedTransaction(signature, {
    commitment: input.commitment ?? 'confirmed',
    maxSupportedTransactionVersion: 0,
  });
  if (!tx) return { ok: false, reason: 'tx_not_found', detail: `no transaction ${signature} at this commitment` };
  if (!tx.meta) return { ok: false, reason: 'tx_not_found', detail: 'transaction status metadata unavailable' };
  if (tx.meta.err !== null) return { ok: false, reason: 'tx_failed', detail: JSON.stringify(tx.meta.err) };

  const deltas = [...tokenDeltas(tx.meta.preTokenBalances ?? [], tx.meta.postTokenBalances ?? []).values()];
  const received = deltas
    .filter((d) => d.owner === recipient && d.mint === usdcMint)
    .reduce((sum, d) => sum + d.delta, 0n);

  if (received <= 0n) {
    const otherToken = deltas.find((d) => d.owner === recipient && d.mint !== usdcMint && d.delta > 0n);
    if (otherToken) return { ok: false, reason: 'wrong_token', detail: `recipient received mint ${otherToken.mint}, not ${usdcMint}` };
    const elsewhere = deltas.find((d) => d.mint === usdcMint && d.delta > 0n);
    if (elsewhere) return { ok: false, reason: 'wrong_recipient', detail: `USDC credited to ${elsewhere.owner ?? 'an unknown owner'}, not ${recipient}` };
    return { ok: false, reason: 'no_usdc_transfer', detail: 'transaction moved no USDC to anyone' };
  }

  // amount >= expected * (1 - tolerance), in integers.
  if (received * PPM < expectedAmount * (PPM - BigInt(tolerancePpm))) {
    return { ok: false, reason: 'underpaid', detail: `received ${received} of ${expectedAmount} micro-USDC (tolerance ${tolerancePpm} ppm)` };
  }

  // The payer is whoever's USDC went down the most; fall back to the fee payer.
  const debited = deltas.filter((d) => d.mint === usdcMint && d.delta < 0n && d.owner !== null).sort((a, b) => (a.delta < b.delta ? -1 : 1));
  const payer = debited[0]?.owner ?? tx.transaction.message.accountKeys[0]?.pubkey.toBase58() ?? '';
  return { ok: true, signature, amount: received, payer, slot: tx.slot, blockTime: tx.blockTime ?? null };
}
