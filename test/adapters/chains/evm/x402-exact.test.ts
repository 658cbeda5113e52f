import { x402Client } from '@x402/core/client';
import {
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
} from '@x402/core/http';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { authorizationTypes, toFacilitatorEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmClientScheme } from '@x402/evm/exact/client';
import { ExactEvmScheme as ExactEvmFacilitatorScheme } from '@x402/evm/exact/facilitator';
import { wrapFetchWithPayment } from '@x402/fetch';
import { expect } from 'chai';
import { createTestClient, getAddress, http, keccak256, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { devClients, startAnvil, type AnvilHandle } from '../../../../adapters/chains/evm/anvil.ts';
import { deployMockUsdc, mintUsdc, usdcBalance } from '../../../../adapters/chains/evm/deploy.ts';
import { verifyUsdcTransfer } from '../../../../adapters/chains/evm/usdc-transfer.ts';
import {
  createExactEvm,
  readTokenDomain,
  type ExactEvm,
  type ExactEvmConfig,
} from '../../../../adapters/chains/evm/x402-exact.ts';

const USDC = 1_000_000n;

describe('adapters/chains/evm x402 exact (anvil, official @x402 client)', function () {
  this.timeout(30_000);

  let anvil: AnvilHandle;
  let cfg: ExactEvmConfig;
  let exact: ExactEvm;
  let settler: ReturnType<typeof devClients>;
  let buyer: PrivateKeyAccount;
  let broke: PrivateKeyAccount; // holds no USDC
  let usdc: Address;
  let payTo: Address;
  let stranger: Address;

  before(async () => {
    anvil = await startAnvil();
    const [settlerAcc, buyerAcc, payToAcc, strangerAcc, brokeAcc] = anvil.accounts;
    if (!settlerAcc || !buyerAcc || !payToAcc || !strangerAcc || !brokeAcc) throw new Error('need 5 anvil accounts');
    settler = devClients(anvil, settlerAcc.privateKey);
    buyer = privateKeyToAccount(buyerAcc.privateKey);
    broke = privateKeyToAccount(brokeAcc.privateKey);
    payTo = payToAcc.address;
    stranger = strangerAcc.address;
    usdc = (await deployMockUsdc(settler)).address;
    await mintUsdc({ ...settler, usdc, to: buyer.address, amount: 100n * USDC });
    cfg = {
      publicClient: settler.publicClient,
      settler: settler.wallet,
      chainId: anvil.chainId,
      usdc,
      payTo,
      tokenDomain: await readTokenDomain(settler.publicClient, usdc),
    };
    exact = createExactEvm(cfg);
  });

  after(async () => {
    await anvil?.stop();
  });

  /** What @x402/fetch would put in PAYMENT-SIGNATURE, produced by the official client code. */
  async function officialPayload(req: PaymentRequirements, signer: PrivateKeyAccount = buyer): Promise<PaymentPayload> {
    const client = x402Client.fromConfig({
      schemes: [{ network: exact.network, client: new ExactEvmClientScheme(signer) }],
      // The devnet token is not in @x402's default-asset table, so opt it in explicitly.
      spendControls: { allowedAssets: [{ network: exact.network, asset: usdc }] },
    });
    return client.createPaymentPayload({ x402Version: 2, resource: { url: 'http://127.0.0.1/buy' }, accepts: [req] });
  }
  const balance = (owner: Address) => usdcBalance(settler.publicClient, usdc, owner);

  it('builds v2 exact requirements from the token itself', async () => {
    expect(cfg.tokenDomain).to.deep.equal({ name: 'USD Coin', version: '2' });
    expect(exact.requirements(1_500_000n)).to.deep.equal({
      scheme: 'exact',
      network: `eip155:${anvil.chainId}`,
      amount: '1500000',
      asset: getAddress(usdc),
      payTo: getAddress(payTo),
      maxTimeoutSeconds: 300,
      extra: { name: 'USD Coin', version: '2' },
    });
    expect(() => exact.requirements(0n)).to.throw(RangeError);
  });

  it('verifies and settles what @x402/fetch sends; the recipient is paid on chain', async () => {
    const req = exact.requirements(2_500_000n);
    const before = { payTo: await balance(payTo), buyer: await balance(buyer.address) };
    let settled: Awaited<ReturnType<ExactEvm['settle']>> | undefined;

    // A resource server in miniature: 402 with requirements, then verify+settle the retry.
    const fakeServer: typeof fetch = async (input, init) => {
      const sig = new Request(input, init).headers.get('PAYMENT-SIGNATURE');
      if (!sig) {
        const header = encodePaymentRequiredHeader({
          x402Version: 2,
          resource: { url: 'http://127.0.0.1/buy' },
          accepts: [req],
        });
        return new Response('{}', { status: 402, headers: { 'PAYMENT-REQUIRED': header } });
      }
      const payload = decodePaymentSignatureHeader(sig);
      const verified = await exact.verify(payload, req);
      expect(verified).to.deep.include({ ok: true, payer: buyer.address, amount: 2_500_000n });
      settled = await exact.settle(payload, req);
      if (!settled.ok) return new Response(settled.reason, { status: 402 });
      const response = encodePaymentResponseHeader({
        success: true,
        transaction: settled.txHash,
        network: exact.network,
        payer: settled.payer,
      });
      return new Response('ok', { status: 200, headers: { 'PAYMENT-RESPONSE': response } });
    };
    const client = x402Client.fromConfig({
      schemes: [{ network: exact.network, client: new ExactEvmClientScheme(buyer) }],
      spendControls: { allowedAssets: [{ network: exact.network, asset: usdc }] },
    });
    const res = await wrapFetchWithPayment(fakeServer, client)('http://127.0.0.1/buy');

    expect(res.status).to.equal(200);
    if (!settled?.ok) throw new Error(`settle failed: ${JSON.stringify(settled)}`);
    expect(decodePaymentResponseHeader(res.headers.get('PAYMENT-RESPONSE') ?? '')).to.deep.include({
      success: true,
      transaction: settled.txHash,
    });
    expect(settled).to.deep.include({ payer: buyer.address, amount: 2_500_000n, network: exact.network });
    expect(await balance(payTo)).to.equal(before.payTo + 2_500_000n);
    expect(await balance(buyer.address)).to.equal(before.buyer - 2_500_000n);
    // The settlement tx is itself a valid tx-hash proof for the other payment path.
    const proof = await verifyUsdcTransfer({
      client: settler.publicClient,
      txHash: settled.txHash,
      usdc,
      recipient: payTo,
      expectedAmount: 2_500_000n,
    });
    expect(proof).to.deep.include({ ok: true, from: buyer.address, amount: 2_500_000n });
  });

  it('refuses a replayed payload (nonce already used) without moving funds', async () => {
    const req = exact.requirements(USDC);
    const payload = await officialPayload(req);
    const first = await exact.settle(payload, req);
    expect(first.ok).to.equal(true);
    const paid = await balance(payTo);
    expect(await exact.verify(payload, req)).to.deep.include({ ok: false, reason: 'nonce_used' });
    expect(await exact.settle(payload, req)).to.deep.include({ ok: false, reason: 'nonce_used' });
    expect(await balance(payTo)).to.equal(paid);
  });

  it('settles a payload only once when the same payload is settled concurrently', async () => {
    const req = exact.requirements(USDC);
    const payload = await officialPayload(req);
    const paid = await balance(payTo);
    const results = await Promise.all([exact.settle(payload, req), exact.settle(payload, req)]);
    expect(results.filter((r) => r.ok)).to.have.length(1);
    expect(results.find((r) => !r.ok)).to.deep.include({ ok: false, reason: 'nonce_used' });
    expect(await balance(payTo)).to.equal(paid + USDC);
  });

  it('rejects an authorization that pays someone else (recipient_mismatch)', async () => {
    const payload = await officialPayload(exact.requirements(USDC, { payTo: stranger }));
    const res = await exact.verify(payload, exact.requirements(USDC));
    expect(res).to.deep.include({ ok: false, reason: 'recipient_mismatch', payer: buyer.address });
    expect(await exact.settle(payload, exact.requirements(USDC))).to.deep.include({ reason: 'recipient_mismatch' });
  });

  it('rejects an authorization for less than the price (insufficient_amount), accepts more', async () => {
    const payload = await officialPayload(exact.requirements(USDC));
    expect(await exact.verify(payload, exact.requirements(USDC + 1n))).to.deep.include({
      ok: false,
      reason: 'insufficient_amount',
    });
    expect(await exact.verify(payload, exact.requirements(USDC - 1n))).to.deep.include({ ok: true, amount: USDC });
  });

  it('rejects an expired authorization using the injected clock (expired)', async () => {
    const req = exact.requirements(USDC, { maxTimeoutSeconds: 60 });
    const payload = await officialPayload(req);
    const validBefore = BigInt((payload.payload as { authorization: { validBefore: string } }).authorization.validBefore);
    const at = (sec: bigint) => createExactEvm({ ...cfg, now: () => Number(sec) * 1000 });
    // Valid until 6 s before validBefore (room for the settle tx to land), then expired.
    expect(await at(validBefore - 7n).verify(payload, req)).to.deep.include({ ok: true });
    expect(await at(validBefore - 5n).verify(payload, req)).to.deep.include({ ok: false, reason: 'expired' });
    expect(await at(validBefore + 3600n).settle(payload, req)).to.deep.include({ ok: false, reason: 'expired' });
  });

  it('rejects an authorization that is not valid yet (not_yet_valid)', async () => {
    const req = exact.requirements(USDC);
    const nowSec = BigInt(Math.floor(Date.now() / 1000));
    const payload = await signManually(req, { validAfter: nowSec + 3600n, validBefore: nowSec + 7200n });
    expect(await exact.verify(payload, req)).to.deep.include({ ok: false, reason: 'not_yet_valid' });
  });

  it('rejects a tampered authorization (invalid_signature)', async () => {
    const req = exact.requirements(USDC);
    const payload = await officialPayload(req);
    const p = payload.payload as { authorization: { value: string } };
    const tampered = { ...payload, payload: { ...payload.payload, authorization: { ...p.authorization, value: '50000000' } } };
    expect(await exact.verify(tampered, req)).to.deep.include({ ok: false, reason: 'invalid_signature' });
  });

  it('rejects a payer without funds (insufficient_balance)', async () => {
    const req = exact.requirements(USDC);
    const payload = await officialPayload(req, broke);
    expect(await exact.verify(payload, req)).to.deep.include({ ok: false, reason: 'insufficient_balance', payer: broke.address });
  });

  it('rejects malformed payloads and mismatched network or asset with distinct reasons', async () => {
    const req = exact.requirements(USDC);
    const payload = await officialPayload(req);
    expect(await exact.verify('garbage', req)).to.deep.include({ ok: false, reason: 'invalid_payload' });
    expect(await exact.verify({ ...payload, x402Version: 1 }, req)).to.deep.include({ reason: 'invalid_payload' });
    expect(await exact.verify(payload, { ...req, network: 'eip155:1' })).to.deep.include({ reason: 'network_mismatch' });
    expect(await exact.verify(payload, { ...req, asset: stranger })).to.deep.include({ reason: 'asset_mismatch' });
    expect(await exact.verify(payload, { ...req, scheme: 'upto' })).to.deep.include({ reason: 'unsupported_scheme' });
    expect(await exact.verify(payload, { ...req, extra: {} })).to.deep.include({ reason: 'missing_eip712_domain' });
    // Case is not identity: a broken EIP-55 checksum on the wire is tolerated, not a crash.
    const auth = (payload.payload as { authorization: Record<string, string> }).authorization;
    const from = auth['from'] ?? '';
    const badCase = `0x${[...from.slice(2)].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('')}`;
    const recased = { ...payload, payload: { ...payload.payload, authorization: { ...auth, from: badCase } } };
    expect(await exact.verify(recased, req)).to.deep.include({ ok: true, payer: buyer.address });
  });

  it('MockUSDC also satisfies the official @x402/evm facilitator (verify + settle)', async () => {
    const req = exact.requirements(USDC);
    const payload = await officialPayload(req);
    const { publicClient, wallet } = settler;
    const signer = toFacilitatorEvmSigner({
      address: wallet.account.address,
      readContract: (a) => publicClient.readContract(a as Parameters<typeof publicClient.readContract>[0]),
      verifyTypedData: (a) => publicClient.verifyTypedData(a as Parameters<typeof publicClient.verifyTypedData>[0]),
      writeContract: (a) => wallet.writeContract(a as Parameters<typeof wallet.writeContract>[0]),
      sendTransaction: (a) => wallet.sendTransaction(a),
      waitForTransactionReceipt: (a) => publicClient.waitForTransactionReceipt(a),
      getCode: (a) => publicClient.getCode(a),
    });
    const facilitator = new ExactEvmFacilitatorScheme(signer);
    expect(await facilitator.verify(payload, req)).to.deep.include({ isValid: true, payer: buyer.address });
    const paid = await balance(payTo);
    expect(await facilitator.settle(payload, req)).to.deep.include({ success: true });
    expect(await balance(payTo)).to.equal(paid + USDC);
  });

  // Last: moves anvil's clock forward, which later tests would otherwise inherit.
  it('lets the on-chain simulation catch what the clock missed (chain time past validBefore)', async () => {
    const req = exact.requirements(USDC, { maxTimeoutSeconds: 60 });
    const payload = await officialPayload(req);
    expect(await exact.verify(payload, req)).to.deep.include({ ok: true });
    const testClient = createTestClient({ chain: anvil.chain, mode: 'anvil', transport: http(anvil.rpcUrl) });
    await testClient.increaseTime({ seconds: 3600 });
    await testClient.mine({ blocks: 1 });
    const paid = await balance(payTo);
    // Our clock still says "valid"; the token disagrees, and settle must not broadcast.
    expect(await exact.settle(payload, req)).to.deep.include({ ok: false, reason: 'expired' });
    expect(await balance(payTo)).to.equal(paid);
  });

  /** A payload like the official client's, but with a chosen validity window. */
  async function signManually(req: PaymentRequirements, w: { validAfter: bigint; validBefore: bigint }): Promise<PaymentPayload> {
    const authorization = {
      from: buyer.address,
      to: getAddress(req.payTo),
      value: BigInt(req.amount),
      validAfter: w.validAfter,
      validBefore: w.validBefore,
      nonce: keccak256(toHex(`manual-${w.validAfter}`)) as Hex,
    };
    const signature = await buyer.signTypedData({
      domain: { name: 'USD Coin', version: '2', chainId: anvil.chainId, verifyingContract: usdc },
      types: authorizationTypes,
      primaryType: 'TransferWithAuthorization',
      message: authorization,
    });
    const stringify = (n: bigint) => n.toString();
    return {
      x402Version: 2,
      accepted: req,
      payload: {
        signature,
        authorization: {
          ...authorization,
          value: stringify(authorization.value),
          validAfter: stringify(w.validAfter),
          validBefore: stringify(w.validBefore),
        },
      },
    };
  }
});
