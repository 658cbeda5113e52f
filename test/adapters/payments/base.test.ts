import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { keccak256, toHex } from 'viem';
import { loadPaymentConfig } from '../../../adapters/payments/config.ts';
import type { PaymentProcessor, Rejected } from '../../../adapters/payments/port.ts';
import { createPaymentProcessor } from '../../../adapters/payments/processor.ts';
import { startChains, type Chains } from '../../support/chains.ts';
import { buyThroughPaywall, capturePaymentHeader, collected, editHeader } from './paywall.ts';

const USDC = 1_000_000n;

describe('adapters/payments on Base (anvil, MockUSDC, official @x402 client)', function () {
  this.timeout(30_000);
  let chains: Chains;
  let payments: PaymentProcessor;
  const open: PaymentProcessor[] = [];
  const processor = async (env: Record<string, string | undefined>) => {
    const p = await createPaymentProcessor(loadPaymentConfig(env));
    open.push(p);
    return p;
  };

  before(async () => {
    chains = await startChains();
    payments = await processor(chains.env);
  });
  after(async () => {
    await Promise.all(open.map((p) => p.close()));
    await chains?.stop();
  });

  describe('tx-hash proofs', () => {
    it('collects a USDC transfer to the recipient; the same hash in any case gives the same claim key', async () => {
      const hash = await chains.base.payUsdc(4n * USDC);
      const first = collected(await payments.collect(hash, 4n * USDC));
      expect(first).to.deep.equal({
        ok: true,
        network: 'base',
        caip2: chains.base.caip2,
        proof: 'tx_hash',
        claimKey: `base-${hash.toLowerCase()}`,
        transaction: hash.toLowerCase(),
        payer: chains.base.buyer.address,
        amountMicro: 4n * USDC,
      });
      expect(await payments.collect(` ${hash} `, 4n * USDC)).to.deep.equal(first);
      expect(await payments.collect(`0x${hash.slice(2).toUpperCase()}`, 4n * USDC)).to.deep.equal(first);
    });

    it('accepts down to the 2% tolerance and rejects one micro-USDC less as underpaid, naming both amounts', async () => {
      const within = await chains.base.payUsdc(9_800_000n);
      expect(collected(await payments.collect(within, 10n * USDC)).amountMicro).to.equal(9_800_000n);
      const short = await chains.base.payUsdc(9_799_999n);
      expect(await payments.collect(short, 10n * USDC)).to.deep.include({ ok: false, code: 'PAYMENT_UNDERPAID', status: 402 });
      const r = (await payments.collect(short, 10n * USDC)) as Rejected;
      expect(r.details).to.include({ expectedMicro: '10000000', paidMicro: '9799999', tolerancePpm: 20_000, transaction: short.toLowerCase() });
    });

    it('rejects USDC sent elsewhere, another token, a reverted and an unknown transaction', async () => {
      const cases: [string, Rejected['code']][] = [
        [await chains.base.payUsdc(USDC, chains.base.stranger), 'PAYMENT_WRONG_RECIPIENT'],
        [await chains.base.payToken(USDC), 'PAYMENT_WRONG_TOKEN'],
        [await chains.base.revertingTx(), 'PAYMENT_TX_FAILED'],
        [keccak256(toHex('never sent')), 'PAYMENT_NOT_FOUND'],
      ];
      for (const [hash, code] of cases) {
        const r = await payments.collect(hash, USDC);
        expect(r, code).to.deep.include({ ok: false, code, status: 402 });
        expect((r as Rejected).message, code).to.be.a('string').and.not.equal('');
      }
    });

    it('reports unconfirmed until BASE_MIN_CONFIRMATIONS blocks exist', async () => {
      const strict = await processor({ ...chains.env, BASE_MIN_CONFIRMATIONS: '3' });
      const hash = await chains.base.payUsdc(USDC);
      const r = await strict.collect(hash, USDC);
      expect(r).to.deep.include({ ok: false, code: 'PAYMENT_UNCONFIRMED', status: 402 });
      expect((r as Rejected).details).to.include({ minConfirmations: 3 });
      await chains.base.mine(2);
      expect(collected(await strict.collect(hash, USDC)).claimKey).to.equal(`base-${hash.toLowerCase()}`);
    });
  });

  describe('x402 exact (EIP-3009) settled by our own settler', () => {
    it('lists one exact requirement per network with the token domain and the fee payer', () => {
      expect(payments.requirements(2_500_000n)).to.deep.equal([
        {
          scheme: 'exact',
          network: chains.base.caip2,
          amount: '2500000',
          asset: chains.base.usdc,
          payTo: chains.base.recipient,
          maxTimeoutSeconds: 300,
          extra: { name: 'USD Coin', version: '2' },
        },
        {
          scheme: 'exact',
          network: chains.solana.caip2,
          amount: '2500000',
          asset: chains.solana.usdcMint,
          payTo: chains.solana.recipient,
          maxTimeoutSeconds: 300,
          extra: { feePayer: chains.solana.feePayer },
        },
      ]);
      expect(payments.networks()).to.deep.equal([
        { network: 'base', caip2: chains.base.caip2, recipient: chains.base.recipient, asset: chains.base.usdc },
        { network: 'solana', caip2: chains.solana.caip2, recipient: chains.solana.recipient, asset: chains.solana.usdcMint },
      ]);
    });

    it('collects what @x402/fetch pays; the settlement tx, as a tx-hash proof or a replay, gives the same claim key', async () => {
      const before = await chains.base.balance(chains.base.recipient);
      const { response, results, headers } = await buyThroughPaywall(chains, 'base', payments, 3n * USDC);
      expect(response.status).to.equal(200);
      const paid = collected(results[0]!);
      expect(paid).to.deep.include({ network: 'base', caip2: chains.base.caip2, proof: 'x402_exact', payer: chains.base.buyer.address, amountMicro: 3n * USDC });
      expect(paid.claimKey).to.equal(`base-${paid.transaction}`).and.match(/^base-0x[0-9a-f]{64}$/);
      expect(await chains.base.balance(chains.base.recipient)).to.equal(before + 3n * USDC);
      expect(decodePaymentResponseHeader(response.headers.get('PAYMENT-RESPONSE') ?? '')).to.deep.equal({
        success: true,
        transaction: paid.transaction,
        network: chains.base.caip2,
        payer: chains.base.buyer.address,
      });

      const asTxHash = collected(await payments.collect(paid.transaction, 3n * USDC));
      expect(asTxHash).to.deep.include({ proof: 'tx_hash', claimKey: paid.claimKey });
      // Replaying the payload finds its settlement on chain: same key, no second transfer.
      const replay = collected(await payments.collect(headers[0]!, 3n * USDC));
      expect(replay).to.deep.equal(paid);
      expect(await chains.base.balance(chains.base.recipient)).to.equal(before + 3n * USDC);
    });

    it('collects an x402 v1 X-PAYMENT payload (network "base-sepolia")', async () => {
      const { response, results, headers } = await buyThroughPaywall(chains, 'base', payments, 2n * USDC, 1);
      expect(response.status).to.equal(200);
      expect(JSON.parse(Buffer.from(headers[0]!, 'base64').toString())).to.include({ x402Version: 1, network: 'base-sepolia', scheme: 'exact' });
      expect(collected(results[0]!)).to.deep.include({ proof: 'x402_exact', amountMicro: 2n * USDC, payer: chains.base.buyer.address });
    });

    it('rejects payloads for less, for someone else, in another token, on another network, or tampered', async () => {
      const price = 2n * USDC;
      const ours = () => payments.requirements(price).filter((r) => r.network === chains.base.caip2);
      const before = await chains.base.balance(chains.base.recipient);

      const cheaper = await capturePaymentHeader(chains, 'base', { requirements: payments.requirements(price - 1n).slice(0, 1) });
      const r = await payments.collect(cheaper, price);
      expect(r).to.deep.include({ ok: false, code: 'PAYMENT_UNDERPAID' });
      expect((r as Rejected).details).to.include({ expectedMicro: '2000000', paidMicro: '1999999' });

      const elsewhere = ours().map((q) => ({ ...q, payTo: chains.base.stranger }));
      const v2Elsewhere = await capturePaymentHeader(chains, 'base', { requirements: elsewhere });
      expect(await payments.collect(v2Elsewhere, price)).to.deep.include({ code: 'PAYMENT_WRONG_RECIPIENT' });
      // v1 states no terms, so the signed authorization itself is what gets rejected.
      const v1Elsewhere = await capturePaymentHeader(chains, 'base', { requirements: elsewhere, version: 1 });
      expect(await payments.collect(v1Elsewhere, price)).to.deep.include({ code: 'PAYMENT_WRONG_RECIPIENT' });
      const v1Cheaper = await capturePaymentHeader(chains, 'base', { requirements: payments.requirements(price - 1n).slice(0, 1), version: 1 });
      expect(await payments.collect(v1Cheaper, price)).to.deep.include({ code: 'PAYMENT_UNDERPAID' });

      const good = await capturePaymentHeader(chains, 'base', { requirements: ours() });
      const otherToken = editHeader(good, (j) => (j['accepted'].asset = chains.base.otherToken));
      expect(await payments.collect(otherToken, price)).to.deep.include({ code: 'PAYMENT_WRONG_TOKEN' });
      const mainnet = editHeader(good, (j) => (j['accepted'].network = 'eip155:1'));
      expect(await payments.collect(mainnet, price)).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED', status: 400 });
      const polygonV1 = editHeader(v1Elsewhere, (j) => (j['network'] = 'polygon'));
      expect(await payments.collect(polygonV1, price)).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED' });
      const tampered = editHeader(good, (j) => (j['payload'].authorization.value = '50000000'));
      expect(await payments.collect(tampered, price)).to.deep.include({ code: 'PAYMENT_INVALID', status: 402 });
      const upto = editHeader(good, (j) => (j['accepted'].scheme = 'upto'));
      expect(await payments.collect(upto, price)).to.deep.include({ code: 'PAYMENT_INVALID' });

      expect(await chains.base.balance(chains.base.recipient)).to.equal(before);
      expect(collected(await payments.collect(good, price)).amountMicro).to.equal(price); // the untouched one still pays
    });
  });

  describe('configuration and outages', () => {
    it('rejects malformed headers with 400 PAYMENT_MALFORMED', async () => {
      const junk = ['', 'hello', '0x1234', `0x${'zz'.repeat(32)}`, 'eyJub3QiOiJ4NDAyIn0=', '{"x402Version":3}', '{"x402Version":2}', 'bm90IGpzb24=', '{oops'];
      for (const header of junk) {
        expect(await payments.collect(header, USDC), header).to.deep.include({ ok: false, code: 'PAYMENT_MALFORMED', status: 400 });
      }
    });

    it('refuses a Base proof when Base is not configured, and exact payloads when no settler is', async () => {
      const solanaOnly = Object.fromEntries(Object.entries(chains.env).filter(([k]) => k.startsWith('SOLANA_')));
      const noBase = await processor(solanaOnly);
      expect(noBase.requirements(USDC).map((r) => r.network)).to.deep.equal([chains.solana.caip2]);
      const hash = await chains.base.payUsdc(USDC);
      expect(await noBase.collect(hash, USDC)).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED', status: 400 });

      const noSettler = await processor({ ...chains.env, X402_SETTLER_PRIVATE_KEY: undefined });
      expect(noSettler.requirements(USDC)[0]).to.deep.include({ network: chains.base.caip2, extra: { name: 'USD Coin', version: '2' } });
      const header = await capturePaymentHeader(chains, 'base', { requirements: noSettler.requirements(USDC).slice(0, 1) });
      const r = await noSettler.collect(header, USDC);
      expect(r).to.deep.include({ code: 'PAYMENT_NETWORK_UNSUPPORTED' });
      expect((r as Rejected).message).to.contain('transaction hash');
      expect(collected(await noSettler.collect(hash, USDC)).proof).to.equal('tx_hash');
    });

    it('answers 503 PAYMENT_CHAIN_UNAVAILABLE when the RPC goes away, for proofs and payloads', async () => {
      // A JSON-RPC relay in front of anvil that can be switched off.
      const relay = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          fetch(chains.base.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
            .then(async (upstream) => res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text()))
            .catch(() => res.destroy());
        });
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      const viaRelay = await processor({ ...chains.env, BASE_RPC_URL: `http://127.0.0.1:${(relay.address() as AddressInfo).port}` });
      const hash = await chains.base.payUsdc(USDC);
      expect(collected(await viaRelay.collect(hash, USDC)).claimKey).to.equal(`base-${hash.toLowerCase()}`);
      const header = await capturePaymentHeader(chains, 'base', { requirements: viaRelay.requirements(USDC).slice(0, 1) });

      relay.closeAllConnections();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      for (const proof of [hash, header]) {
        const r = await viaRelay.collect(proof, USDC);
        expect(r).to.deep.include({ ok: false, code: 'PAYMENT_CHAIN_UNAVAILABLE', status: 503 });
      }
    });
  });
});
