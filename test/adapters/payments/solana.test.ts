import { expect } from 'chai';
import { Keypair } from '@solana/web3.js';
import { getBase58Decoder } from '@solana/kit';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { loadPaymentConfig } from '../../../adapters/payments/config.ts';
import type { PaymentProcessor, Rejected } from '../../../adapters/payments/port.ts';
import { createPaymentProcessor } from '../../../adapters/payments/processor.ts';
import { freePort } from '../../../adapters/chains/evm/anvil.ts';
import { startChains, type Chains } from '../../support/chains.ts';
import { buyThroughPaywall, capturePaymentHeader, collected, editHeader } from './paywall.ts';

const USDC = 1_000_000n;

describe('adapters/payments on Solana (LiteSVM localnet, official @x402 client)', function () {
  this.timeout(30_000);
  let chains: Chains;
  let payments: PaymentProcessor;
  const open: PaymentProcessor[] = [];
  const processor = async (env: Record<string, string | undefined>) => {
    const p = await createPaymentProcessor(loadPaymentConfig(env));
    open.push(p);
    return p;
  };
  const solanaOnly = () => Object.fromEntries(Object.entries(chains.env).filter(([k]) => k.startsWith('SOLANA_')));

  before(async () => {
    chains = await startChains();
    payments = await processor(solanaOnly());
  });
  after(async () => {
    await Promise.all(open.map((p) => p.close()));
    await chains?.stop();
  });

  describe('signature proofs', () => {
    it('collects a USDC transfer to the recipient, with the same claim key every time', async () => {
      const signature = await chains.solana.payUsdc(4n * USDC);
      const first = collected(await payments.collect(signature, 4n * USDC));
      expect(first).to.deep.equal({
        ok: true,
        network: 'solana',
        caip2: chains.solana.caip2,
        proof: 'tx_hash',
        claimKey: `solana-${signature}`,
        transaction: signature,
        payer: chains.solana.buyer,
        amountMicro: 4n * USDC,
      });
      expect(await payments.collect(signature, 4n * USDC)).to.deep.equal(first);
    });

    it('accepts down to the 2% tolerance and rejects one micro-USDC less as underpaid, naming both amounts', async () => {
      const within = await chains.solana.payUsdc(980_000n);
      expect(collected(await payments.collect(within, USDC)).amountMicro).to.equal(980_000n);
      const short = await chains.solana.payUsdc(979_999n);
      const r = await payments.collect(short, USDC);
      expect(r).to.deep.include({ ok: false, code: 'PAYMENT_UNDERPAID', status: 402 });
      expect((r as Rejected).details).to.include({ expectedMicro: '1000000', paidMicro: '979999', tolerancePpm: 20_000, transaction: short });
    });

    it('rejects USDC sent elsewhere, another token, a failed and an unknown transaction', async () => {
      // (Unconfirmed cannot happen here: the localnet finalizes every transaction as it lands.)
      const cases: [string, Rejected['code']][] = [
        [await chains.solana.payUsdc(USDC, chains.solana.stranger), 'PAYMENT_WRONG_RECIPIENT'],
        [await chains.solana.payToken(USDC), 'PAYMENT_WRONG_TOKEN'],
        [await chains.solana.failedTx(), 'PAYMENT_TX_FAILED'],
        [getBase58Decoder().decode(Keypair.generate().secretKey), 'PAYMENT_NOT_FOUND'], // any 64 bytes
      ];
      for (const [signature, code] of cases) {
        expect(await payments.collect(signature, USDC), code).to.deep.include({ ok: false, code, status: 402 });
      }
    });
  });

  describe('x402 exact settled with our own fee payer', () => {
    it('collects what @x402/fetch pays; the settlement signature, as a proof or a replay, gives the same claim key', async () => {
      const before = chains.solana.balance(chains.solana.recipient);
      const { response, results, headers } = await buyThroughPaywall(chains, 'solana', payments, 3n * USDC);
      expect(response.status).to.equal(200);
      const paid = collected(results[0]!);
      expect(paid).to.deep.include({ network: 'solana', caip2: chains.solana.caip2, proof: 'x402_exact', payer: chains.solana.buyer, amountMicro: 3n * USDC });
      expect(paid.claimKey).to.equal(`solana-${paid.transaction}`);
      expect(chains.solana.balance(chains.solana.recipient)).to.equal(before + 3n * USDC);
      expect(decodePaymentResponseHeader(response.headers.get('PAYMENT-RESPONSE') ?? '')).to.deep.equal({
        success: true,
        transaction: paid.transaction,
        network: chains.solana.caip2,
        payer: chains.solana.buyer,
      });

      expect(collected(await payments.collect(paid.transaction, 3n * USDC))).to.deep.include({ proof: 'tx_hash', claimKey: paid.claimKey });
      expect(await payments.collect(headers[0]!, 3n * USDC)).to.deep.equal(paid);
      expect(chains.solana.balance(chains.solana.recipient)).to.equal(before + 3n * USDC);
    });

    it('collects an x402 v1 X-PAYMENT payload (network "solana-devnet")', async () => {
      const { response, results, headers } = await buyThroughPaywall(chains, 'solana', payments, 2n * USDC, 1);
      expect(response.status).to.equal(200);
      expect(JSON.parse(Buffer.from(headers[0]!, 'base64').toString())).to.include({ x402Version: 1, network: 'solana-devnet' });
      expect(collected(results[0]!)).to.deep.include({ proof: 'x402_exact', amountMicro: 2n * USDC, payer: chains.solana.buyer });
    });

    it('rejects payloads for less, for someone else, on another network, or with an expired blockhash', async () => {
      const price = 2n * USDC;
      const before = chains.solana.balance(chains.solana.recipient);
      const cheaper = await capturePaymentHeader(chains, 'solana', { requirements: payments.requirements(price - 1n) });
      const r = await payments.collect(cheaper, price);
      expect(r).to.deep.include({ code: 'PAYMENT_UNDERPAID' });
      expect((r as Rejected).details).to.include({ expectedMicro: '2000000', paidMicro: '1999999' });

      const elsewhere = payments.requirements(price).map((q) => ({ ...q, payTo: chains.solana.stranger }));
      expect(await payments.collect(await capturePaymentHeader(chains, 'solana', { requirements: elsewhere }), price)).to.deep.include({ code: 'PAYMENT_WRONG_RECIPIENT' });
      // v1 states no terms: the official verifier finds the transfer going elsewhere.
      const v1Elsewhere = await capturePaymentHeader(chains, 'solana', { requirements: elsewhere, version: 1 });
      expect(await payments.collect(v1Elsewhere, price)).to.deep.include({ code: 'PAYMENT_WRONG_RECIPIENT' });

      const good = await capturePaymentHeader(chains, 'solana', { requirements: payments.requirements(price) });
      const mainnet = editHeader(good, (j) => (j['accepted'].network = 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'));
      expect(await payments.collect(mainnet, price)).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED', status: 400 });
      const otherMint = editHeader(good, (j) => (j['accepted'].asset = chains.solana.otherMint));
      expect(await payments.collect(otherMint, price)).to.deep.include({ code: 'PAYMENT_WRONG_TOKEN' });
      const garbled = editHeader(good, (j) => (j['payload'].transaction = 'bm90IGEgdHJhbnNhY3Rpb24='));
      expect(await payments.collect(garbled, price)).to.deep.include({ code: 'PAYMENT_MALFORMED' });

      chains.solana.localnet.expireBlockhash();
      const expired = await payments.collect(good, price);
      expect(expired).to.deep.include({ code: 'PAYMENT_INVALID', status: 402 });
      expect((expired as Rejected).details['reason']).to.equal('invalid_exact_svm_transaction_simulation_failed');
      expect(chains.solana.balance(chains.solana.recipient)).to.equal(before);
    });
  });

  describe('configuration and outages', () => {
    it('without a fee payer still lists Solana (for signature proofs) but refuses exact payloads', async () => {
      const noFeePayer = await processor({ ...solanaOnly(), SOLANA_FEE_PAYER_SECRET: undefined });
      const [requirement] = noFeePayer.requirements(USDC);
      expect(requirement).to.deep.include({ network: chains.solana.caip2, extra: {} });
      const header = await capturePaymentHeader(chains, 'solana', { requirements: payments.requirements(USDC) });
      const r = await noFeePayer.collect(header, USDC);
      expect(r).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED' });
      expect((r as Rejected).message).to.contain('transaction signature');
      expect(collected(await noFeePayer.collect(await chains.solana.payUsdc(USDC), USDC)).proof).to.equal('tx_hash');
      expect(await noFeePayer.collect(await chains.base.payUsdc(USDC), USDC)).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED' });
    });

    it('answers 503 PAYMENT_CHAIN_UNAVAILABLE when the RPC cannot be reached', async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const unreachable = await processor({ ...solanaOnly(), SOLANA_RPC_URL: dead, SOLANA_NETWORK: chains.solana.caip2 });
      const signature = await chains.solana.payUsdc(USDC);
      expect(await unreachable.collect(signature, USDC)).to.deep.include({ ok: false, code: 'PAYMENT_CHAIN_UNAVAILABLE', status: 503 });
      const header = await capturePaymentHeader(chains, 'solana', { requirements: unreachable.requirements(USDC) });
      expect(await unreachable.collect(header, USDC)).to.deep.include({ ok: false, code: 'PAYMENT_CHAIN_UNAVAILABLE', status: 503 });
    });
  });
});
