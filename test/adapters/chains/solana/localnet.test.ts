import { expect } from 'chai';
import {
  Keypair,
  PublicKey,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
  type Connection,
} from '@solana/web3.js';
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createTransferCheckedInstruction,
  getAccount,
  getAssociatedTokenAddressSync,
  getMint,
} from '@solana/spl-token';
import { address, createSolanaRpc, signature } from '@solana/kit';
import { fetchMint } from '@solana-program/token';
import { DEVNET_GENESIS_HASH, startSolanaLocalnet, type SolanaLocalnet } from '../../../../adapters/chains/solana/localnet.ts';

describe('solana localnet (LiteSVM behind JSON-RPC)', () => {
  let net: SolanaLocalnet;
  let conn: Connection;

  before(async () => {
    net = await startSolanaLocalnet();
    conn = net.connection();
  });
  after(async () => {
    await net.stop();
  });

  const usdcTransferTx = (from: Keypair, to: PublicKey, amount: bigint) => {
    const source = getAssociatedTokenAddressSync(net.usdcMint, from.publicKey);
    const destination = getAssociatedTokenAddressSync(net.usdcMint, to);
    return new Transaction().add(
      createAssociatedTokenAccountIdempotentInstruction(from.publicKey, destination, to, net.usdcMint),
      createTransferCheckedInstruction(source, net.usdcMint, destination, from.publicKey, amount, 6),
    );
  };

  it('identifies itself like a cluster (devnet genesis hash by default, CAIP-2 id)', async () => {
    expect(await conn.getGenesisHash()).to.equal(DEVNET_GENESIS_HASH);
    expect(net.network).to.equal('solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1');
    expect((await conn.getVersion())['solana-core']).to.be.a('string');
    const { blockhash, lastValidBlockHeight } = await conn.getLatestBlockhash();
    expect(blockhash).to.equal(net.svm.latestBlockhash());
    expect(lastValidBlockHeight).to.be.greaterThan(await conn.getBlockHeight());
  });

  it('serves requestAirdrop, confirmation over WebSocket, getBalance', async () => {
    const who = Keypair.generate();
    const slotBefore = await conn.getSlot();
    const signature = await conn.requestAirdrop(who.publicKey, 2_000_000_000);
    const confirmed = await conn.confirmTransaction({ signature, ...(await conn.getLatestBlockhash()) });
    expect(confirmed.value.err).to.equal(null);
    expect(await conn.getBalance(who.publicKey)).to.equal(2_000_000_000);
    expect(await conn.getSlot()).to.be.greaterThan(slotBefore);
  });

  it('runs the real SPL token program for sendAndConfirmTransaction and reports token balances', async () => {
    const buyer = net.createWallet({ usdc: 5_000_000n });
    const seller = Keypair.generate();
    const signature = await sendAndConfirmTransaction(conn, usdcTransferTx(buyer, seller.publicKey, 1_250_000n), [buyer]);

    expect((await getAccount(conn, getAssociatedTokenAddressSync(net.usdcMint, seller.publicKey))).amount).to.equal(1_250_000n);
    expect((await getMint(conn, net.usdcMint)).decimals).to.equal(6);
    expect((await conn.getTokenAccountBalance(getAssociatedTokenAddressSync(net.usdcMint, buyer.publicKey))).value)
      .to.deep.include({ amount: '3750000', decimals: 6, uiAmountString: '3.75' });

    const tx = await conn.getParsedTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(tx?.meta?.err).to.equal(null);
    expect(tx?.blockTime).to.be.a('number');
    const status = await conn.getSignatureStatus(signature);
    expect(tx?.slot).to.equal(status.value?.slot);
    // The seller's ATA was created by this very transaction: post balance only.
    const sellerPost = tx?.meta?.postTokenBalances?.find((b) => b.owner === seller.publicKey.toBase58());
    const sellerPre = tx?.meta?.preTokenBalances?.find((b) => b.owner === seller.publicKey.toBase58());
    expect(sellerPre).to.equal(undefined);
    expect(sellerPost?.uiTokenAmount.amount).to.equal('1250000');
    expect(sellerPost?.mint).to.equal(net.usdcMint.toBase58());
    const buyerPre = tx?.meta?.preTokenBalances?.find((b) => b.owner === buyer.publicKey.toBase58());
    expect(buyerPre?.uiTokenAmount.amount).to.equal('5000000');
    const transfer = tx?.transaction.message.instructions.find((ix) => 'parsed' in ix && ix.parsed.type === 'transferChecked');
    expect(transfer && 'parsed' in transfer ? transfer.parsed.info.tokenAmount.amount : null).to.equal('1250000');

    const raw = await conn.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(raw?.transaction.signatures[0]).to.equal(signature);
    expect(raw?.meta?.postTokenBalances).to.deep.equal(tx?.meta?.postTokenBalances);
  });

  it('charges the fee it reports (meta.fee, getFeeForMessage)', async () => {
    const payer = net.createWallet({ lamports: 1_000_000_000n });
    const tx = new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 10_000_000 }));
    const { blockhash } = await conn.getLatestBlockhash();
    tx.recentBlockhash = blockhash;
    tx.feePayer = payer.publicKey;
    const quoted = (await conn.getFeeForMessage(tx.compileMessage())).value;
    const signature = await sendAndConfirmTransaction(conn, tx, [payer]);
    const meta = (await conn.getTransaction(signature, { maxSupportedTransactionVersion: 0 }))?.meta;
    expect(meta?.fee).to.equal(5000);
    expect(quoted).to.equal(5000);
    expect(meta?.preBalances[0]! - meta?.postBalances[0]!).to.equal(10_000_000 + 5000);
    expect(await conn.getBalance(payer.publicKey)).to.equal(1_000_000_000 - 10_000_000 - 5000);
  });

  it('rejects a failing transaction at preflight without landing it', async () => {
    const buyer = net.createWallet({ usdc: 1_000n });
    const slotBefore = await conn.getSlot();
    let error: unknown;
    try {
      await conn.sendTransaction(usdcTransferTx(buyer, Keypair.generate().publicKey, 2_000n), [buyer]);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(SendTransactionError);
    expect((error as SendTransactionError).message).to.match(/custom program error: 0x1/);
    expect((error as SendTransactionError).logs?.join('\n')).to.match(/insufficient funds/i);
    expect(await conn.getSlot()).to.equal(slotBefore);
  });

  it('lands a failing transaction sent with skipPreflight: fee charged, tokens untouched, err recorded', async () => {
    const buyer = net.createWallet({ lamports: 1_000_000_000n, usdc: 1_000n });
    const signature = await conn.sendTransaction(usdcTransferTx(buyer, Keypair.generate().publicKey, 2_000n), [buyer], { skipPreflight: true });
    const status = await conn.getSignatureStatus(signature);
    expect(status.value?.err).to.deep.equal({ InstructionError: [1, { Custom: 1 }] });
    const tx = await conn.getParsedTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(tx?.meta?.err).to.deep.equal({ InstructionError: [1, { Custom: 1 }] });
    expect(tx?.meta?.logMessages?.join('\n')).to.match(/insufficient funds/i);
    expect(await conn.getBalance(buyer.publicKey)).to.equal(1_000_000_000 - 5000);
    expect(net.tokenBalance(net.usdcMint, buyer.publicKey)).to.equal(1_000n);
  });

  it('rejects duplicates and expired blockhashes', async () => {
    const payer = net.createWallet();
    const tx = new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 }));
    tx.recentBlockhash = (await conn.getLatestBlockhash()).blockhash;
    tx.feePayer = payer.publicKey;
    tx.sign(payer);
    const wire = tx.serialize();
    await conn.sendRawTransaction(wire);
    let duplicate: unknown;
    try {
      await conn.sendRawTransaction(wire, { skipPreflight: true });
    } catch (e) {
      duplicate = e;
    }
    expect(String(duplicate)).to.match(/already been processed/);

    const stale = new Transaction().add(SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 }));
    stale.recentBlockhash = (await conn.getLatestBlockhash()).blockhash;
    stale.feePayer = payer.publicKey;
    stale.sign(payer);
    net.expireBlockhash();
    expect(await conn.isBlockhashValid(stale.recentBlockhash)).to.deep.include({ value: false });
    let expired: unknown;
    try {
      await conn.sendRawTransaction(stale.serialize());
    } catch (e) {
      expired = e;
    }
    expect(String(expired)).to.match(/Blockhash not found/);
  });

  it('simulates without landing, with and without signature verification', async () => {
    const payer = net.createWallet();
    const message = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: (await conn.getLatestBlockhash()).blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 })],
    }).compileToV0Message();
    const unsigned = new VersionedTransaction(message);
    const sim = await conn.simulateTransaction(unsigned, { sigVerify: false });
    expect(sim.value.err).to.equal(null);
    expect(sim.value.logs?.join('\n')).to.match(/Program 11111111111111111111111111111111 success/);
    const checked = await conn.simulateTransaction(unsigned, { sigVerify: true });
    expect(checked.value.err).to.equal('SignatureFailure');

    const unknownBlockhash = new VersionedTransaction(new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: Keypair.generate().publicKey.toBase58(),
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 })],
    }).compileToV0Message());
    expect((await conn.simulateTransaction(unknownBlockhash, { sigVerify: false })).value.err).to.equal('BlockhashNotFound');
    expect((await conn.simulateTransaction(unknownBlockhash, { replaceRecentBlockhash: true })).value.err).to.equal(null);
    expect(await conn.getBalance(payer.publicKey)).to.equal(1_000_000_000);
  });

  it('serves versioned transactions only to clients that accept them', async () => {
    const payer = net.createWallet();
    const message = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: (await conn.getLatestBlockhash()).blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 1_000_000 })],
    }).compileToV0Message();
    const tx = new VersionedTransaction(message);
    tx.sign([payer]);
    const signature = await conn.sendTransaction(tx);
    const fetched = await conn.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(fetched?.version).to.equal(0);
    let error: unknown;
    try {
      await conn.getParsedTransaction(signature);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/maxSupportedTransactionVersion/);
  });

  it('answers the @solana/kit RPC client too', async () => {
    const rpc = createSolanaRpc(net.rpcUrl);
    const mint = await fetchMint(rpc, address(net.usdcMint.toBase58()));
    expect(mint.data.decimals).to.equal(6);
    expect(mint.data.mintAuthority).to.deep.equal({ __option: 'Some', value: net.mintAuthority.publicKey.toBase58() });
    const { value } = await rpc.getLatestBlockhash().send();
    expect(value.blockhash).to.equal(net.svm.latestBlockhash());
    expect(await rpc.getSignatureStatuses([signature('1'.repeat(64))]).send()).to.have.nested.property('value[0]', null);
  });
});
