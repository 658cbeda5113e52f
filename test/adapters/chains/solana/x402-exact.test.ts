import { expect } from 'chai';
import { Keypair, type Connection } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, type KeyPairSigner } from '@solana/kit';
import { x402Client } from '@x402/core/client';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { ExactSvmScheme } from '@x402/svm/exact/client';
import { startSolanaLocalnet, type SolanaLocalnet } from '../../../../adapters/chains/solana/localnet.ts';
import { verifySolanaUsdcTransfer } from '../../../../adapters/chains/solana/usdc-transfer.ts';
import {
  buildSolanaExactRequirements,
  createSolanaExactFacilitator,
  fetchSolanaNetworkId,
  type SolanaExactFacilitator,
} from '../../../../adapters/chains/solana/x402-exact.ts';

describe('adapters/chains/solana x402 exact (localnet, official @x402/svm client + facilitator)', () => {
  let net: SolanaLocalnet;
  let conn: Connection;
  let feePayerKey: Keypair;
  let feePayer: KeyPairSigner;
  let facilitator: SolanaExactFacilitator;

  before(async () => {
    net = await startSolanaLocalnet();
    conn = net.connection();
    feePayerKey = net.createWallet({ lamports: 1_000_000_000n });
    feePayer = await createKeyPairSignerFromBytes(feePayerKey.secretKey);
    facilitator = createSolanaExactFacilitator({ rpcUrl: net.rpcUrl, network: net.network, feePayer });
  });
  after(async () => {
    await net.stop();
  });

  /** A seller whose USDC account exists (the exact scheme pays into it, it does not create it). */
  const newSeller = () => {
    const seller = Keypair.generate().publicKey;
    net.createAta(net.usdcMint, seller);
    return seller;
  };
  const requirementsFor = (payTo: string, amount: bigint, overrides: Partial<Parameters<typeof buildSolanaExactRequirements>[0]> = {}) =>
    buildSolanaExactRequirements({ network: net.network, usdcMint: net.usdcMint.toBase58(), payTo, amount, feePayer: facilitator.feePayer, ...overrides });
  /** What a buyer's wallet sends: the official x402 client with the official SVM exact scheme. */
  const buyerPays = async (buyer: Keypair, requirements: PaymentRequirements): Promise<PaymentPayload> => {
    const signer = await createKeyPairSignerFromBytes(buyer.secretKey);
    const client = x402Client.fromConfig({
      schemes: [{ network: net.network, client: new ExactSvmScheme(signer, { rpcUrl: net.rpcUrl }) }],
      spendControls: { allowedAssets: [{ network: net.network, asset: net.usdcMint.toBase58(), maxAmountPerPayment: '100000000' }] },
    });
    return client.createPaymentPayload({ x402Version: 2, resource: { url: 'https://proxies.test/buy' }, accepts: [requirements] });
  };

  it('builds v2 exact requirements for the cluster it talks to', async () => {
    const payTo = Keypair.generate().publicKey.toBase58();
    expect(await fetchSolanaNetworkId(net.rpcUrl)).to.equal(net.network);
    expect(requirementsFor(payTo, 1_500_000n, { maxTimeoutSeconds: 30 })).to.deep.equal({
      scheme: 'exact',
      network: net.network,
      amount: '1500000',
      asset: net.usdcMint.toBase58(),
      payTo,
      maxTimeoutSeconds: 30,
      extra: { feePayer: feePayer.address },
    });
    expect(() => requirementsFor(payTo, 0n)).to.throw(RangeError);
    expect(() => requirementsFor('not-an-address', 1n)).to.throw(RangeError);
    expect(() => requirementsFor(payTo, 1n, { network: 'eip155:8453' })).to.throw(RangeError);
  });

  it('verifies and settles a payment from a buyer without SOL; we pay the fee, the seller gets the USDC', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const seller = newSeller();
    const requirements = requirementsFor(seller.toBase58(), 2_500_000n);
    const payload = await buyerPays(buyer, requirements);
    const feePayerBefore = await conn.getBalance(feePayerKey.publicKey);

    expect(await facilitator.verify(payload, requirements)).to.deep.equal({ ok: true, payer: buyer.publicKey.toBase58() });
    const settled = await facilitator.settle(payload, requirements);
    if (!settled.ok) expect.fail(`settle failed: ${settled.reason} ${settled.detail}`);

    expect(net.tokenBalance(net.usdcMint, seller)).to.equal(2_500_000n);
    expect(net.tokenBalance(net.usdcMint, buyer.publicKey)).to.equal(7_500_000n);
    expect(await conn.getBalance(buyer.publicKey)).to.equal(0);
    const landed = await conn.getTransaction(settled.signature, { maxSupportedTransactionVersion: 0 });
    expect(landed?.meta?.err).to.equal(null);
    expect(landed?.transaction.message.staticAccountKeys[0]?.toBase58()).to.equal(feePayer.address);
    expect(feePayerBefore - (await conn.getBalance(feePayerKey.publicKey))).to.equal(landed?.meta?.fee);
    // The settlement is an ordinary USDC payment to the seller as far as the chain is concerned.
    expect(await verifySolanaUsdcTransfer({ connection: conn, signature: settled.signature, usdcMint: net.usdcMint, recipient: seller, expectedAmount: 2_500_000n }))
      .to.deep.include({ ok: true, amount: 2_500_000n, payer: buyer.publicKey.toBase58() });
  });

  it('refuses a replayed payload, also after a restart (fresh facilitator), without moving funds again', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const seller = newSeller();
    const requirements = requirementsFor(seller.toBase58(), 1_000_000n);
    const payload = await buyerPays(buyer, requirements);
    const first = await facilitator.settle(payload, requirements);
    expect(first.ok).to.equal(true);

    const restarted = createSolanaExactFacilitator({ rpcUrl: net.rpcUrl, network: net.network, feePayer });
    for (const f of [facilitator, restarted]) {
      expect(await f.verify(payload, requirements)).to.deep.include({ ok: false, reason: 'already_settled' });
      expect(await f.settle(payload, requirements)).to.deep.include({ ok: false, reason: 'already_settled', signature: first.ok ? first.signature : '' });
    }
    expect(net.tokenBalance(net.usdcMint, seller)).to.equal(1_000_000n);
  });

  it('settles a payload only once when it is settled concurrently', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const seller = newSeller();
    const requirements = requirementsFor(seller.toBase58(), 1_000_000n);
    const payload = await buyerPays(buyer, requirements);
    const results = await Promise.all([1, 2, 3].map(() => facilitator.settle(payload, requirements)));
    expect(results.filter((r) => r.ok)).to.have.length(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).to.deep.equal(['already_settled', 'already_settled']);
    expect(net.tokenBalance(net.usdcMint, seller)).to.equal(1_000_000n);
  });

  it('rejects payments that do not match our requirements, with the official reason codes', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const seller = newSeller();
    const requirements = requirementsFor(seller.toBase58(), 1_000_000n);
    const payload = await buyerPays(buyer, requirements);
    const other = newSeller();
    const fake = net.createMint(6);
    const cases: [PaymentRequirements, string][] = [
      [requirementsFor(seller.toBase58(), 2_000_000n), 'invalid_exact_svm_payload_amount_mismatch'],
      [requirementsFor(other.toBase58(), 1_000_000n), 'invalid_exact_svm_payload_recipient_mismatch'],
      [requirementsFor(seller.toBase58(), 1_000_000n, { usdcMint: fake.mint.toBase58() }), 'invalid_exact_svm_payload_mint_mismatch'],
      [requirementsFor(seller.toBase58(), 1_000_000n, { memo: 'order-42' }), 'invalid_exact_svm_payload_memo_mismatch'],
    ];
    for (const [mismatched, x402Reason] of cases) {
      expect(await facilitator.verify(payload, mismatched), x402Reason).to.deep.include({ ok: false, reason: 'invalid_payment', x402Reason });
      expect(await facilitator.settle(payload, mismatched), x402Reason).to.deep.include({ ok: false, reason: 'invalid_payment', x402Reason });
    }
    expect(net.tokenBalance(net.usdcMint, seller)).to.equal(0n);
    expect(net.tokenBalance(net.usdcMint, other)).to.equal(0n);
  });

  it('binds a payment to an order through extra.memo', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const seller = newSeller();
    const requirements = requirementsFor(seller.toBase58(), 1_000_000n, { memo: 'order-42' });
    const payload = await buyerPays(buyer, requirements);
    expect(await facilitator.verify(payload, requirementsFor(seller.toBase58(), 1_000_000n, { memo: 'order-43' })))
      .to.deep.include({ ok: false, x402Reason: 'invalid_exact_svm_payload_memo_mismatch' });
    expect(await facilitator.settle(payload, requirements)).to.deep.include({ ok: true });
  });

  it('refuses a transaction whose fee payer is not ours, a tampered one, and malformed payloads', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const seller = newSeller();
    const stranger = Keypair.generate().publicKey.toBase58();
    const foreign = requirementsFor(seller.toBase58(), 1_000_000n, { feePayer: stranger });
    expect(await facilitator.verify(await buyerPays(buyer, foreign), foreign))
      .to.deep.include({ ok: false, x402Reason: 'invalid_exact_svm_fee_payer_not_managed_by_facilitator' });

    const requirements = requirementsFor(seller.toBase58(), 1_000_000n);
    const payload = await buyerPays(buyer, requirements);
    const wire = Buffer.from(String(payload.payload.transaction), 'base64');
    wire[wire.length - 2]! ^= 0x01; // last memo byte (the final one counts lookup tables): the buyer's signature no longer matches
    const tampered = { ...payload, payload: { transaction: wire.toString('base64') } };
    expect(await facilitator.settle(tampered, requirements)).to.deep.include({ ok: false, x402Reason: 'invalid_exact_svm_payload_signature_invalid' });

    const junk = [
      null, 'x', {}, { x402Version: 2 }, { ...payload, x402Version: 1 }, { ...payload, payload: {} },
      { ...payload, payload: { transaction: 'not base64!' } }, { ...payload, ok: true, payload: { transaction: 'not base64!' } },
    ];
    for (const raw of junk) {
      expect(await facilitator.verify(raw, requirements), JSON.stringify(raw)?.slice(0, 60)).to.deep.include({ ok: false, reason: 'invalid_payload' });
      expect(await facilitator.settle(raw, requirements), JSON.stringify(raw)?.slice(0, 60)).to.deep.include({ ok: false, reason: 'invalid_payload' });
    }
    expect(net.tokenBalance(net.usdcMint, seller)).to.equal(0n);
  });

  it('rejects a buyer without enough USDC and a payload whose blockhash expired (simulation)', async () => {
    const seller = newSeller();
    const requirements = requirementsFor(seller.toBase58(), 5_000_000n);
    const poor = net.createWallet({ lamports: 0n, usdc: 4_999_999n });
    expect(await facilitator.verify(await buyerPays(poor, requirements), requirements))
      .to.deep.include({ ok: false, reason: 'invalid_payment', x402Reason: 'invalid_exact_svm_transaction_simulation_failed' });

    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const stale = await buyerPays(buyer, requirements);
    net.expireBlockhash();
    const verified = await facilitator.verify(stale, requirements);
    expect(verified).to.deep.include({ ok: false, x402Reason: 'invalid_exact_svm_transaction_simulation_failed' });
    expect(!verified.ok && verified.detail).to.match(/BlockhashNotFound/);
    expect(await facilitator.settle(stale, requirements)).to.deep.include({ ok: false, x402Reason: 'invalid_exact_svm_transaction_simulation_failed' });
    expect(net.tokenBalance(net.usdcMint, seller)).to.equal(0n);
  });

  it('refuses requirements for another network than the one it settles on', async () => {
    const buyer = net.createWallet({ lamports: 0n, usdc: 10_000_000n });
    const requirements = requirementsFor(newSeller().toBase58(), 1_000_000n);
    const payload = await buyerPays(buyer, requirements);
    const elsewhere = { ...requirements, network: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp' as const };
    expect(await facilitator.verify(payload, elsewhere)).to.deep.include({ ok: false, x402Reason: 'invalid_exact_svm_network_mismatch' });
  });
});
