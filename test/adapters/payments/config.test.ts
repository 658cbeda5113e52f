import { inspect } from 'node:util';
import { expect } from 'chai';
import { Keypair } from '@solana/web3.js';
import { getBase58Decoder } from '@solana/kit';
import { z } from 'zod';
import { PaymentConfigError, loadPaymentConfig, paymentEnv, toPaymentConfig } from '../../../adapters/payments/config.ts';

const KEY = `0x${'ab'.repeat(32)}`;
const base = {
  BASE_RPC_URL: 'https://mainnet.base.org',
  BASE_USDC_ADDRESS: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913',
  BASE_RECIPIENT: '0xF8cD900794245fc36CBE65be9afc23CDF5103042',
};
const solana = {
  SOLANA_RPC_URL: 'https://api.mainnet-beta.solana.com',
  SOLANA_USDC_MINT: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
  SOLANA_RECIPIENT: '6eUdVwsPArTxwVqEARYGCh4S2qwW2zCs7jSEDRpxydnv',
};

function problemsOf(env: Record<string, string>): string {
  try {
    loadPaymentConfig(env);
  } catch (e) {
    expect(e).to.be.instanceOf(PaymentConfigError);
    return (e as PaymentConfigError).problems.join('\n');
  }
  throw new Error('expected a PaymentConfigError');
}

describe('adapters/payments config', () => {
  it('enables nothing by default and applies the defaults', () => {
    expect(loadPaymentConfig({})).to.deep.equal({ tolerancePpm: 20_000, maxTimeoutSeconds: 300 });
  });

  it('enables a network when its RPC URL, asset and recipient are set, normalising EVM addresses', () => {
    const feePayer = Keypair.generate();
    const config = loadPaymentConfig({
      ...base,
      ...solana,
      BASE_MIN_CONFIRMATIONS: '3',
      X402_SETTLER_PRIVATE_KEY: KEY,
      SOLANA_FEE_PAYER_SECRET: JSON.stringify([...feePayer.secretKey]),
      SOLANA_NETWORK: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
      X402_FACILITATOR_URL: 'https://x402.org/facilitator',
      PAYMENT_TOLERANCE_PPM: '0',
      X402_MAX_TIMEOUT_SECONDS: '60',
      UNRELATED: 'ignored',
    });
    expect(config.base).to.deep.include({
      rpcUrl: base.BASE_RPC_URL,
      chainId: 8453,
      usdc: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
      recipient: base.BASE_RECIPIENT,
      minConfirmations: 3,
    });
    expect(config.base?.settlerKey?.reveal()).to.equal(KEY);
    expect(config.solana).to.deep.include({ ...{ rpcUrl: solana.SOLANA_RPC_URL, usdcMint: solana.SOLANA_USDC_MINT, recipient: solana.SOLANA_RECIPIENT }, network: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp' });
    expect(config.solana?.feePayerSecret?.reveal()).to.deep.equal(feePayer.secretKey);
    expect(config).to.include({ facilitatorUrl: 'https://x402.org/facilitator', tolerancePpm: 0, maxTimeoutSeconds: 60 });
    // The base58 form of the same key decodes to the same bytes.
    const b58 = loadPaymentConfig({ ...solana, SOLANA_FEE_PAYER_SECRET: getBase58Decoder().decode(feePayer.secretKey) });
    expect(b58.solana?.feePayerSecret?.reveal()).to.deep.equal(feePayer.secretKey);
  });

  it('never prints private keys, however the config is logged', () => {
    const feePayer = getBase58Decoder().decode(Keypair.generate().secretKey);
    const config = loadPaymentConfig({ ...base, ...solana, X402_SETTLER_PRIVATE_KEY: KEY, SOLANA_FEE_PAYER_SECRET: feePayer });
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.base?.settlerKey)]) {
      expect(text).to.not.contain('abab');
      expect(text).to.not.contain(feePayer.slice(0, 16));
      expect(text).to.contain('redacted');
    }
  });

  it('names every bad variable without echoing secrets', () => {
    const problems = problemsOf({
      BASE_RPC_URL: 'ftp://node',
      BASE_CHAIN_ID: 'base',
      BASE_USDC_ADDRESS: '0x1234',
      BASE_RECIPIENT: 'nope',
      BASE_MIN_CONFIRMATIONS: '0',
      X402_SETTLER_PRIVATE_KEY: 'secret-key-text',
      SOLANA_RPC_URL: 'not a url',
      SOLANA_USDC_MINT: '0OIl',
      SOLANA_RECIPIENT: 'x',
      SOLANA_FEE_PAYER_SECRET: '[1,2,3]',
      SOLANA_NETWORK: 'mainnet',
      X402_FACILITATOR_URL: 'facilitator',
      PAYMENT_TOLERANCE_PPM: '2000001',
      X402_MAX_TIMEOUT_SECONDS: '-1',
    });
    for (const name of Object.keys(paymentEnv)) expect(problems, name).to.contain(`${name}:`);
    expect(problems).to.not.contain('secret-key-text');
  });

  it('refuses a half-configured network, naming what is missing', () => {
    const problems = problemsOf({ BASE_RPC_URL: base.BASE_RPC_URL, SOLANA_RECIPIENT: solana.SOLANA_RECIPIENT });
    expect(problems).to.contain('BASE_USDC_ADDRESS: required when BASE_RPC_URL is set');
    expect(problems).to.contain('BASE_RECIPIENT: required');
    expect(problems).to.contain('SOLANA_RPC_URL: required when SOLANA_RECIPIENT is set');
    expect(problems).to.not.contain('BASE_RPC_URL:');
  });

  it('merges into a service schema as plain zod fields, and empty variables count as unset', () => {
    const service = z.object({ PORT: z.coerce.number().default(3000), ...paymentEnv });
    const parsed = service.parse({ PORT: '8080', ...base, BASE_CHAIN_ID: '84532' });
    expect(parsed).to.include({ PORT: 8080, BASE_CHAIN_ID: 84532, PAYMENT_TOLERANCE_PPM: 20_000 });
    expect(toPaymentConfig(parsed).base?.chainId).to.equal(84532);
    const blank = { BASE_RPC_URL: '', BASE_USDC_ADDRESS: '', BASE_RECIPIENT: '', X402_SETTLER_PRIVATE_KEY: '', PAYMENT_TOLERANCE_PPM: '' };
    expect(loadPaymentConfig(blank)).to.deep.equal({ tolerancePpm: 20_000, maxTimeoutSeconds: 300 });
  });
});
