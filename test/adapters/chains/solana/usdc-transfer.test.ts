import { expect } from 'chai';
import { Connection, Keypair, PublicKey, SystemProgram, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import { getBase58Decoder } from '@solana/kit';
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { startSolanaLocalnet, type SolanaLocalnet } from '../../../../adapters/chains/solana/localnet.ts';
import { verifySolanaUsdcTransfer, type VerifySolanaUsdcTransferInput } from '../../../../adapters/chains/solana/usdc-transfer.ts';

describe('adapters/chains/solana verifySolanaUsdcTransfer (localnet, web3.js)', () => {
  let net: SolanaLocalnet;
  let conn: Connection;

  before(async () => {
    net = await startSolanaLocalnet();
    conn = net.connection();
  });
  after(async () => {
    await net.stop();
  });

  /** Real SPL transferChecked instructions from `from`, creating each destination ATA if needed. */
  const transfers = (from: Keypair, legs: { to: PublicKey; amount: bigint; mint?: PublicKey }[]) => {
    const tx = new Transaction();
    for (const { to, amount, mint = net.usdcMint } of legs) {
      const destination = getAssociatedTokenAddressSync(mint, to);
      tx.add(
        createAssociatedTokenAccountIdempotentInstruction(from.publicKey, destination, to, mint),
        createTransferCheckedInstruction(getAssociatedTokenAddressSync(mint, from.publicKey), mint, destination, from.publicKey, amount, 6),
      );
    }
    return tx;
  };
  const pay = (from: Keypair, to: PublicKey, amount: bigint) => sendAndConfirmTransaction(conn, transfers(from, [{ to, amount }]), [from]);
  const verify = (signature: string, recipient: PublicKey, expectedAmount: bigint, extra: Partial<VerifySolanaUsdcTransferInput> = {}) =>
    verifySolanaUsdcTransfer({ connection: conn, signature, usdcMint: net.usdcMint, recipient, expectedAmount, ...extra });

  it('accepts a USDC transferChecked to the recipient (ATA created in the same tx) and reports payer and slot', async () => {
    const buyer = net.createWallet({ usdc: 10_000_000n });
    const seller = Keypair.generate().publicKey;
    const signature = await pay(buyer, seller, 2_500_000n);
    const result = await verify(signature, seller, 2_500_000n);
    const status = await conn.getSignatureStatus(signature);
    expect(result).to.deep.include({ ok: true, signature, amount: 2_500_000n, payer: buyer.publicKey.toBase58(), slot: status.value?.slot });
    expect(result.ok && result.blockTime).to.be.a('number');
  });

  it('accepts a payment into an ATA that already existed, and sums several transfers in one tx', async () => {
    const buyer = net.createWallet({ usdc: 10_000_000n });
    const seller = Keypair.generate().publicKey;
    net.createAta(net.usdcMint, seller);
    const signature = await sendAndConfirmTransaction(conn, transfers(buyer, [{ to: seller, amount: 600_000n }, { to: seller, amount: 400_000n }]), [buyer]);
    expect(await verify(signature, seller, 1_000_000n)).to.deep.include({ ok: true, amount: 1_000_000n });
  });

  it('accepts an underpayment within the default 2%, down to exactly 98%', async () => {
    const buyer = net.createWallet({ usdc: 10_000_000n });
    const seller = Keypair.generate().publicKey;
    const within = await pay(buyer, seller, 985_000n);
    expect(await verify(within, seller, 1_000_000n)).to.deep.include({ ok: true, amount: 985_000n });
    const boundary = await pay(buyer, seller, 980_000n);
    expect(await verify(boundary, seller, 1_000_000n)).to.deep.include({ ok: true, amount: 980_000n });
  });

  it('rejects an underpayment beyond 2% (one micro-USDC below) and honours a custom tolerance', async () => {
    const buyer = net.createWallet({ usdc: 10_000_000n });
    const seller = Keypair.generate().publicKey;
    const short = await pay(buyer, seller, 979_999n);
    expect(await verify(short, seller, 1_000_000n)).to.deep.include({ ok: false, reason: 'underpaid' });
    const almost = await pay(buyer, seller, 999_999n);
    expect(await verify(almost, seller, 1_000_000n, { tolerancePpm: 0 })).to.deep.include({ ok: false, reason: 'underpaid' });
    expect(await verify(almost, seller, 1_000_000n)).to.deep.include({ ok: true });
  });

  it('rejects USDC sent to someone else as wrong_recipient', async () => {
    const buyer = net.createWallet({ usdc: 10_000_000n });
    const seller = Keypair.generate().publicKey;
    const signature = await pay(buyer, Keypair.generate().publicKey, 1_000_000n);
    expect(await verify(signature, seller, 1_000_000n)).to.deep.include({ ok: false, reason: 'wrong_recipient' });
  });

  it('rejects another token sent to the recipient as wrong_token', async () => {
    const fake = net.createMint(6);
    const buyer = net.createWallet({ usdc: 10_000_000n });
    net.mintTo(fake.mint, fake.authority, buyer.publicKey, 5_000_000n);
    const seller = Keypair.generate().publicKey;
    const signature = await sendAndConfirmTransaction(conn, transfers(buyer, [{ to: seller, amount: 1_000_000n, mint: fake.mint }]), [buyer]);
    expect(await verify(signature, seller, 1_000_000n)).to.deep.include({ ok: false, reason: 'wrong_token' });
  });

  it('rejects a transaction that moves no USDC as no_usdc_transfer', async () => {
    const buyer = net.createWallet();
    const seller = Keypair.generate().publicKey;
    const signature = await sendAndConfirmTransaction(conn, new Transaction().add(SystemProgram.transfer({ fromPubkey: buyer.publicKey, toPubkey: seller, lamports: 1_000_000 })), [buyer]);
    expect(await verify(signature, seller, 1_000_000n)).to.deep.include({ ok: false, reason: 'no_usdc_transfer' });
  });

  it('rejects a transfer that failed on chain (sent with skipPreflight) as tx_failed', async () => {
    const buyer = net.createWallet({ usdc: 500_000n });
    const seller = Keypair.generate().publicKey;
    const signature = await conn.sendTransaction(transfers(buyer, [{ to: seller, amount: 1_000_000n }]), [buyer], { skipPreflight: true });
    const result = await verify(signature, seller, 1_000_000n);
    expect(result).to.deep.include({ ok: false, reason: 'tx_failed' });
    expect(!result.ok && result.detail).to.contain('InstructionError');
  });

  it('reports an unknown signature as tx_not_found', async () => {
    const signature = getBase58Decoder().decode(Keypair.generate().secretKey); // any 64 bytes
    expect(await verify(signature, Keypair.generate().publicKey, 1_000_000n)).to.deep.include({ ok: false, reason: 'tx_not_found' });
  });

  it('reports malformed signatures without asking the chain', async () => {
    const recipient = Keypair.generate().publicKey;
    const nowhere = new Connection('http://127.0.0.1:9'); // any RPC call would fail
    for (const signature of ['', 'abc', '0OIl'.repeat(22), Keypair.generate().publicKey.toBase58(), 'x'.repeat(200)]) {
      expect(await verify(signature, recipient, 1_000_000n, { connection: nowhere }), signature).to.deep.include({ ok: false, reason: 'malformed_signature' });
    }
  });

  it('throws on caller bugs (non-positive amount, bad tolerance) instead of returning a reason', async () => {
    const recipient = Keypair.generate().publicKey;
    const sig = '1'.repeat(64);
    for (const extra of [{ expectedAmount: 0n }, { tolerancePpm: -1 }, { tolerancePpm: 1_000_001 }, { tolerancePpm: 0.5 }]) {
      let error: unknown;
      try {
        await verifySolanaUsdcTransfer({ connection: conn, signature: sig, usdcMint: net.usdcMint, recipient, expectedAmount: 1n, ...extra });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(extra, (_, v) => (typeof v === 'bigint' ? String(v) : v))).to.be.instanceOf(RangeError);
    }
  });
});
