import { expect } from 'chai';
import { loadPaymentConfig } from '../../adapters/payments/config.ts';
import { startFacilitator, type FacilitatorHandle } from '../support/chains.ts';
import { startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { decodeHeader, registerDevice, startPaidService } from '../support/x402.ts';

/** The official @x402/fetch client (v2) buys a proxy from the running server with no glue of ours. */
describe('x402: the official @x402/fetch client buys a proxy', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  before(async () => {
    world = await startPaidService();
    for (let i = 0; i < 4; i++) await registerDevice(world.service, 'US', { slots: 2 });
  });
  after(async () => world?.stop());

  for (const network of ['base', 'solana'] as const) {
    it(`pays on ${network} with the exact scheme, settled by the server's own key`, async () => {
      const recipientBefore = network === 'base' ? await world.chains.base.balance(world.chains.base.recipient) : world.chains.solana.balance(world.chains.solana.recipient);
      const pay = world.chains.x402Fetch(network);
      const res = await pay(`${world.service.url}/v1/x402/proxy?country=US&traffic=0.25`);
      const body = await res.json() as any;
      expect(res.status, JSON.stringify(body)).to.equal(200);
      expect(body.sessionToken).to.match(/^x402s_/);
      expect(body.payment).to.include({ network, proof: 'x402_exact', amount: '1.00' });
      const settled = decodeHeader(res.headers.get('payment-response'));
      expect(settled).to.include({ success: true, transaction: body.payment.transaction });
      const recipientAfter = network === 'base' ? await world.chains.base.balance(world.chains.base.recipient) : world.chains.solana.balance(world.chains.solana.recipient);
      expect(recipientAfter - recipientBefore).to.equal(1_000_000n);
      // the settlement transaction cannot be presented again as a tx-hash proof
      const again = await fetch(`${world.service.url}/v1/x402/proxy?country=US&traffic=0.25`, { headers: { 'payment-signature': body.payment.transaction } });
      expect(again.status).to.equal(409);
    });
  }

  it('settles through an external facilitator when X402_FACILITATOR_URL is set', async () => {
    let facilitator: FacilitatorHandle | undefined;
    let service: Awaited<ReturnType<typeof startTestService>> | undefined;
    try {
      facilitator = await startFacilitator(loadPaymentConfig(world.chains.env));
      const { X402_SETTLER_PRIVATE_KEY: _k, SOLANA_FEE_PAYER_SECRET: _s, ...withoutKeys } = world.chains.env;
      service = await startTestService((await databaseKinds())[0]!, world.clock, { ...withoutKeys, X402_FACILITATOR_URL: facilitator.url });
      await registerDevice(service, 'US');
      const res = await world.chains.x402Fetch('base')(`${service.url}/v1/x402/proxy?country=US&traffic=0.1`);
      const body = await res.json() as any;
      expect(res.status, JSON.stringify(body)).to.equal(200);
      expect(body.payment).to.include({ network: 'base', proof: 'x402_exact' });
      expect(facilitator.requests.some((r) => r.includes('/settle'))).to.equal(true);
    } finally {
      await service?.stop();
      await facilitator?.stop();
    }
  });
});
