import { expect } from 'chai';
import { freePort } from '../../../adapters/chains/evm/anvil.ts';
import { loadPaymentConfig } from '../../../adapters/payments/config.ts';
import type { PaymentProcessor, Rejected } from '../../../adapters/payments/port.ts';
import { createPaymentProcessor } from '../../../adapters/payments/processor.ts';
import { startChains, startFacilitator, type Chains, type FacilitatorHandle } from '../../support/chains.ts';
import { buyThroughPaywall, capturePaymentHeader, collected } from './paywall.ts';

const USDC = 1_000_000n;

describe('adapters/payments through an external x402 facilitator (real HTTP facilitator on the local chains)', function () {
  this.timeout(30_000);
  let chains: Chains;
  let facilitator: FacilitatorHandle;
  let payments: PaymentProcessor;
  const open: PaymentProcessor[] = [];
  /** The service's env with a facilitator and without keys of its own: only the facilitator can settle. */
  const withFacilitator = async (url: string) => {
    const { X402_SETTLER_PRIVATE_KEY: _k, SOLANA_FEE_PAYER_SECRET: _s, ...keyless } = chains.env;
    const p = await createPaymentProcessor(loadPaymentConfig({ ...keyless, X402_FACILITATOR_URL: url }));
    open.push(p);
    return p;
  };

  before(async () => {
    chains = await startChains();
    facilitator = await startFacilitator(loadPaymentConfig(chains.env));
    payments = await withFacilitator(facilitator.url);
  });
  after(async () => {
    await Promise.all(open.map((p) => p.close()));
    await facilitator?.stop();
    await chains?.stop();
  });

  it('advertises the fee payer the facilitator supports for Solana', () => {
    expect(facilitator.requests).to.include('GET /supported');
    expect(payments.requirements(USDC).map((r) => r.extra)).to.deep.equal([{ name: 'USD Coin', version: '2' }, { feePayer: chains.solana.feePayer }]);
  });

  for (const network of ['base', 'solana'] as const) {
    it(`collects an exact payment on ${network} via /verify + /settle; the settlement presented again is the same claim`, async () => {
      const balance = () => (network === 'base' ? chains.base.balance(chains.base.recipient) : Promise.resolve(chains.solana.balance(chains.solana.recipient)));
      const before = await balance();
      const served = facilitator.requests.length;
      const { response, results, headers } = await buyThroughPaywall(chains, network, payments, 2n * USDC);
      expect(response.status).to.equal(200);
      const paid = collected(results[0]!);
      expect(paid).to.deep.include({ network, proof: 'x402_exact', amountMicro: 2n * USDC, claimKey: `${network}-${paid.transaction}` });
      expect(facilitator.requests.slice(served)).to.deep.equal(['POST /verify', 'POST /settle']);
      expect(await balance()).to.equal(before + 2n * USDC);
      // Presented again as a plain proof, the settlement is the same claim.
      expect(collected(await payments.collect(paid.transaction, 2n * USDC)).claimKey).to.equal(paid.claimKey);
      if (network === 'base') {
        // The facilitator answers "nonce already used"; we find the settlement on chain ourselves.
        expect(await payments.collect(headers[0]!, 2n * USDC)).to.deep.equal(paid);
      } else {
        // A facilitator answers duplicate_settlement without the signature, and Solana has no
        // lookup by the buyer's signature: the replay is refused (its signature still works above).
        expect(await payments.collect(headers[0]!, 2n * USDC)).to.deep.include({ ok: false, code: 'PAYMENT_INVALID' });
      }
      expect(await balance()).to.equal(before + 2n * USDC);
    });
  }

  it("maps the facilitator's reasons onto our codes (v1 payloads, whose terms only the verifier sees)", async () => {
    const price = 2n * USDC;
    const base = () => payments.requirements(price).slice(0, 1);
    const elsewhere = await capturePaymentHeader(chains, 'base', { requirements: base().map((r) => ({ ...r, payTo: chains.base.stranger })), version: 1 });
    expect(await payments.collect(elsewhere, price)).to.deep.include({ code: 'PAYMENT_WRONG_RECIPIENT' });
    const cheaper = await capturePaymentHeader(chains, 'base', { requirements: payments.requirements(price - 1n).slice(0, 1), version: 1 });
    const r = await payments.collect(cheaper, price);
    expect(r).to.deep.include({ code: 'PAYMENT_UNDERPAID' });
    expect((r as Rejected).details).to.include({ reason: 'invalid_exact_evm_payload_authorization_value_mismatch', expectedMicro: '2000000' });
    const solanaElsewhere = await capturePaymentHeader(chains, 'solana', {
      requirements: payments.requirements(price).slice(1).map((r) => ({ ...r, payTo: chains.solana.stranger })),
      version: 1,
    });
    expect(await payments.collect(solanaElsewhere, price)).to.deep.include({ code: 'PAYMENT_WRONG_RECIPIENT' });
  });

  it('answers 503 for exact payloads while the facilitator is down, and still collects tx-hash proofs', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const orphan = await withFacilitator(down); // starts although /supported is unreachable
    expect(orphan.requirements(USDC)[1]?.extra).to.deep.equal({}); // no fee payer known
    const header = await capturePaymentHeader(chains, 'base', { requirements: orphan.requirements(USDC).slice(0, 1) });
    expect(await orphan.collect(header, USDC)).to.deep.include({ ok: false, code: 'PAYMENT_CHAIN_UNAVAILABLE', status: 503 });
    expect(collected(await orphan.collect(await chains.base.payUsdc(USDC), USDC)).proof).to.equal('tx_hash');

    // Known at startup, gone at payment time.
    const late = await startFacilitator(loadPaymentConfig(chains.env));
    const stranded = await withFacilitator(late.url);
    const payload = await capturePaymentHeader(chains, 'solana', { requirements: stranded.requirements(USDC).slice(1) });
    await late.stop();
    expect(await stranded.collect(payload, USDC)).to.deep.include({ ok: false, code: 'PAYMENT_CHAIN_UNAVAILABLE', status: 503 });
  });
});
