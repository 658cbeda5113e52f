// USDC payouts to peers: an SPL transferChecked from the treasury's token account, carrying the payout's
// reference key (a read-only, non-signing account, as Solana Pay does) and a memo. The reference makes the
// transfer findable with getSignaturesForAddress, so a worker that crashed between sending and recording
// finds what it already paid instead of paying again.
import { createHash } from 'node:crypto';
import { Keypair, PublicKey, Transaction, TransactionInstruction, type Connection } from '@solana/web3.js';
import { createAssociatedTokenAccountIdempotentInstruction, createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { getBase58Encoder } from '@solana/kit';

const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const USDC_DECIMALS = 6;

/** A deterministic reference per payout: the same payout always looks for the same key. */
export function payoutReference(payoutId: string): PublicKey {
  return new PublicKey(createHash('sha256').update(`peer-payout:${payoutId}`).digest());
}

export function decodeSecretKey(text: string): Keypair {
  const bytes = text.trim().startsWith('[') ? Uint8Array.from(JSON.parse(text) as number[]) : Uint8Array.from(getBase58Encoder().encode(text.trim()));
  if (bytes.length !== 64) throw new Error('a Solana secret key is 64 bytes (base58 or a JSON byte array)');
  return Keypair.fromSecretKey(bytes);
}

export interface PayoutTransfer {
  connection: Connection;
  treasury: Keypair;
  mint: PublicKey;
  recipient: PublicKey;
  amountMicro: bigint;
  payoutId: string;
}

/** Signs the transfer against a fresh blockhash; nothing is sent yet, so the caller can record the attempt first. */
export async function preparePayout(t: PayoutTransfer): Promise<{ tx: Transaction; lastValidBlockHeight: number; reference: PublicKey }> {
  const reference = payoutReference(t.payoutId);
  const from = getAssociatedTokenAddressSync(t.mint, t.treasury.publicKey, true);
  const to = getAssociatedTokenAddressSync(t.mint, t.recipient, true);
  const transfer = createTransferCheckedInstruction(from, t.mint, to, t.treasury.publicKey, t.amountMicro, USDC_DECIMALS);
  transfer.keys.push({ pubkey: reference, isSigner: false, isWritable: false });
  const { blockhash, lastValidBlockHeight } = await t.connection.getLatestBlockhash('confirmed');
  const tx = new Transaction({ feePayer: t.treasury.publicKey, blockhash, lastValidBlockHeight });
  tx.add(
    createAssociatedTokenAccountIdempotentInstruction(t.treasury.publicKey, to, t.recipient, t.mint),
    transfer,
    new TransactionInstruction({ programId: MEMO_PROGRAM_ID, keys: [], data: Buffer.from(`peer-payout:${t.payoutId}`) }),
  );
  tx.sign(t.treasury);
  return { tx, lastValidBlockHeight, reference };
}

export async function sendPrepared(connection: Connection, tx: Transaction): Promise<string> {
  const signature = await connection.sendRawTransaction(tx.serialize(), { skipPreflight: false });
  // Confirmation by polling over HTTP, not confirmTransaction: that subscribes over a WebSocket web3.js guesses at
  // port+1 of the RPC URL, which many RPCs (our localnet among them) do not serve — it then never returned.
  const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
  for (;;) {
    const { value: [status] } = await connection.getSignatureStatuses([signature]);
    if (status?.err) throw new PayoutRejected(`transfer failed on chain: ${JSON.stringify(status.err)}`);
    if (status && (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) return signature;
    // not landed (yet): the caller records nothing, and its next pass looks the transfer up by reference first
    if (Date.now() > deadline || (await connection.getBlockHeight('confirmed')) > tx.lastValidBlockHeight!) throw new Error(`transfer ${signature} not confirmed yet`);
    await new Promise((r) => setTimeout(r, CONFIRM_POLL_MS));
  }
}
const CONFIRM_POLL_MS = 400;
const CONFIRM_TIMEOUT_MS = 60_000;

/** A transfer the chain refused (simulation or execution failed): the money stays in the treasury. */
export class PayoutRejected extends Error {
  override readonly name = 'PayoutRejected';
}

/** The landed, successful transfer carrying this payout's reference, if any. */
export async function findPayoutTransfer(connection: Connection, payoutId: string): Promise<string | null> {
  const sigs = await connection.getSignaturesForAddress(payoutReference(payoutId), { limit: 20 }, 'confirmed');
  return sigs.find((s) => s.err === null)?.signature ?? null;
}

export const currentBlockHeight = (connection: Connection) => connection.getBlockHeight('confirmed');
