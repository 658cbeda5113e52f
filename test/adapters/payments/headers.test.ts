import { expect } from 'chai';
import { Keypair } from '@solana/web3.js';
import { getBase58Decoder } from '@solana/kit';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import type { Collected, X402Requirement } from '../../../adapters/payments/port.ts';
import { paymentRequiredHeader, paymentResponseHeader } from '../../../adapters/payments/processor.ts';
import { parsePaymentHeader } from '../../../adapters/payments/proof.ts';

const requirement: X402Requirement = {
  scheme: 'exact',
  network: 'eip155:8453',
  amount: '4000000',
  asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
  payTo: '0xF8cD900794245fc36CBE65be9afc23CDF5103042',
  maxTimeoutSeconds: 300,
  extra: { name: 'USD Coin', version: '2' },
};
const hash = `0x${'3f'.repeat(32)}`;

describe('adapters/payments x402 headers', () => {
  it('PAYMENT-REQUIRED decodes with @x402/core into the v2 PaymentRequired object', () => {
    const header = paymentRequiredHeader([requirement], { url: 'https://api.test/v1/x402/proxy?country=US', description: '1 GB US proxy' }, 'PAYMENT_UNDERPAID');
    const expected = {
      x402Version: 2,
      error: 'PAYMENT_UNDERPAID',
      resource: { url: 'https://api.test/v1/x402/proxy?country=US', description: '1 GB US proxy', mimeType: 'application/json' },
      accepts: [requirement],
    };
    expect(decodePaymentRequiredHeader(header)).to.deep.equal(expected);
    // What @x402/fetch itself reads from a 402.
    const client = new x402HTTPClient(new x402Client());
    expect(client.getPaymentRequiredResponse((name) => (name === 'PAYMENT-REQUIRED' ? header : null))).to.deep.equal(expected);
    expect(decodePaymentRequiredHeader(paymentRequiredHeader([requirement], { url: 'u' }))).to.not.have.property('error');
  });

  it('PAYMENT-RESPONSE decodes with @x402/core into a successful v2 settle response', () => {
    const paid: Collected = {
      ok: true,
      network: 'base',
      caip2: 'eip155:8453',
      proof: 'x402_exact',
      claimKey: `base-${hash}`,
      transaction: hash,
      payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      amountMicro: 4_000_000n,
    };
    expect(decodePaymentResponseHeader(paymentResponseHeader(paid))).to.deep.equal({
      success: true,
      transaction: hash,
      network: 'eip155:8453',
      payer: paid.payer,
    });
  });
});

describe('adapters/payments header classification', () => {
  const payloadV2 = { x402Version: 2, accepted: { ...requirement, network: 'eip155:8453' as const }, payload: { signature: '0x00', authorization: { memo: '???>>>???>>>' } } };
  const { scheme, network, amount, asset, payTo } = requirement;
  const terms = { scheme, network, amount, asset, payTo }; // what the classifier keeps of `accepted`

  it('tells tx hashes, Solana signatures and x402 payloads (v2, v1; base64, base64url, raw JSON) apart', () => {
    expect(parsePaymentHeader(hash.toUpperCase().replace('0X', '0x'))).to.deep.equal({ kind: 'evm_tx', hash });
    const signature = getBase58Decoder().decode(Keypair.generate().secretKey);
    expect(parsePaymentHeader(` ${signature}\n`)).to.deep.equal({ kind: 'solana_sig', signature });

    const v2 = { kind: 'x402', payload: { x402Version: 2, scheme: 'exact', network: 'eip155:8453', accepted: terms, payload: payloadV2.payload } };
    expect(parsePaymentHeader(encodePaymentSignatureHeader(payloadV2))).to.deep.equal(v2);
    const url = Buffer.from(JSON.stringify(payloadV2)).toString('base64url');
    expect(url).to.match(/[-_]/); // really differs from standard base64
    expect(parsePaymentHeader(url)).to.deep.equal(v2);
    expect(parsePaymentHeader(JSON.stringify(payloadV2))).to.deep.equal(v2);

    const v1 = { x402Version: 1, scheme: 'exact', network: 'base', payload: { transaction: 'AAAA' } };
    expect(parsePaymentHeader(Buffer.from(JSON.stringify(v1)).toString('base64'))).to.deep.equal({ kind: 'x402', payload: v1 });
  });

  it('calls everything else malformed, with a reason', () => {
    const junk = [
      '',
      'hello world',
      '0x1234',
      `0x${'ab'.repeat(33)}`,
      Keypair.generate().publicKey.toBase58(), // 32 bytes: an address, not a signature
      Buffer.from('[1,2,3]').toString('base64'),
      JSON.stringify({ x402Version: 2, payload: {} }), // no accepted
      JSON.stringify({ x402Version: 1, network: 'base', payload: {} }), // no scheme
      JSON.stringify({ x402Version: 3, scheme: 'exact' }),
      'x'.repeat(70_000),
    ];
    for (const header of junk) {
      const proof = parsePaymentHeader(header);
      expect(proof.kind, header.slice(0, 40)).to.equal('malformed');
      expect(proof.kind === 'malformed' && proof.reason, header.slice(0, 40)).to.be.a('string').and.not.equal('');
    }
  });
});
