import { expect } from 'chai';
import { createTestClient, erc20Abi, http, keccak256, toHex, type Address, type Hash } from 'viem';
import { devClients, startAnvil, type AnvilHandle } from '../../../../adapters/chains/evm/anvil.ts';
import { compileMockUsdc } from '../../../../adapters/chains/evm/compile.ts';
import { deployMockUsdc, mintUsdc, transferUsdc } from '../../../../adapters/chains/evm/deploy.ts';
import { verifyUsdcTransfer, type VerifyUsdcTransferInput } from '../../../../adapters/chains/evm/usdc-transfer.ts';

const USDC = 1_000_000n; // micro-USDC per USDC

describe('adapters/chains/evm verifyUsdcTransfer (anvil)', function () {
  this.timeout(30_000);

  let anvil: AnvilHandle;
  let buyer: ReturnType<typeof devClients>;
  let publicClient: ReturnType<typeof devClients>['publicClient'];
  let testClient: ReturnType<typeof createTestClient>;
  let usdc: Address;
  let otherToken: Address;
  let recipient: Address;
  let stranger: Address;

  before(async () => {
    anvil = await startAnvil();
    const [deployerAcc, buyerAcc, recipientAcc, strangerAcc] = anvil.accounts;
    if (!deployerAcc || !buyerAcc || !recipientAcc || !strangerAcc) throw new Error('need 4 anvil accounts');
    recipient = recipientAcc.address;
    stranger = strangerAcc.address;
    const deployer = devClients(anvil, deployerAcc.privateKey);
    buyer = devClients(anvil, buyerAcc.privateKey);
    publicClient = deployer.publicClient;
    testClient = createTestClient({ chain: anvil.chain, mode: 'anvil', transport: http(anvil.rpcUrl) });

    const artifact = await compileMockUsdc();
    usdc = (await deployMockUsdc({ ...deployer, artifact })).address;
    otherToken = (await deployMockUsdc({ ...deployer, artifact })).address;
    await mintUsdc({ ...deployer, usdc, to: buyerAcc.address, amount: 1_000n * USDC });
    await mintUsdc({ ...deployer, usdc: otherToken, to: buyerAcc.address, amount: 1_000n * USDC });
  });

  after(async () => {
    await anvil?.stop();
  });

  const pay = (amount: bigint, to: Address = recipient, token: Address = usdc) =>
    transferUsdc({ ...buyer, usdc: token, to, amount });
  const check = (txHash: string, expectedAmount: bigint, extra: Partial<VerifyUsdcTransferInput> = {}) =>
    verifyUsdcTransfer({ client: publicClient, txHash, usdc, recipient, expectedAmount, ...extra });

  it('accepts a mined USDC transfer to the recipient and reports its details', async () => {
    const hash = await pay(5n * USDC);
    const receipt = await publicClient.getTransactionReceipt({ hash });
    const res = await check(hash, 5n * USDC);
    expect(res).to.deep.include({
      ok: true,
      from: buyer.wallet.account.address,
      to: recipient,
      amount: 5n * USDC,
      blockNumber: receipt.blockNumber,
    });
    if (!res.ok) throw new Error('unreachable');
    const transferLog = receipt.logs.find((l) => l.address.toLowerCase() === usdc.toLowerCase());
    expect(res.logIndex).to.equal(transferLog?.logIndex);
    // Upper-case hex is the same hash.
    expect((await check(`0x${hash.slice(2).toUpperCase()}`, 5n * USDC)).ok).to.equal(true);
  });

  it('accepts an underpayment within the default 2% tolerance, down to exactly 98%', async () => {
    const hash = await pay(9_800_000n);
    expect(await check(hash, 10n * USDC)).to.deep.include({ ok: true, amount: 9_800_000n });
  });

  it('rejects one micro-USDC below the tolerance as underpaid', async () => {
    const hash = await pay(9_799_999n);
    expect(await check(hash, 10n * USDC)).to.deep.include({ ok: false, reason: 'underpaid' });
  });

  it('rejects an underpayment beyond 2%, and honours a custom tolerance', async () => {
    const hash = await pay(9_700_000n);
    expect(await check(hash, 10n * USDC)).to.deep.include({ ok: false, reason: 'underpaid' });
    expect(await check(hash, 10n * USDC, { tolerancePpm: 30_000 })).to.deep.include({ ok: true });
    const almost = await pay(USDC - 1n);
    expect(await check(almost, USDC, { tolerancePpm: 0 })).to.deep.include({ ok: false, reason: 'underpaid' });
  });

  it('rejects USDC sent to someone else as wrong_recipient', async () => {
    const hash = await pay(5n * USDC, stranger);
    expect(await check(hash, 5n * USDC)).to.deep.include({ ok: false, reason: 'wrong_recipient' });
  });

  it('rejects another token sent to the recipient as wrong_token', async () => {
    const hash = await pay(5n * USDC, recipient, otherToken);
    expect(await check(hash, 5n * USDC)).to.deep.include({ ok: false, reason: 'wrong_token' });
  });

  it('rejects a successful tx without any Transfer as no_usdc_transfer', async () => {
    const hash = await buyer.wallet.writeContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'approve',
      args: [recipient, 5n * USDC],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    expect(await check(hash, 5n * USDC)).to.deep.include({ ok: false, reason: 'no_usdc_transfer' });
  });

  it('rejects a reverted transfer as tx_failed', async () => {
    // Explicit gas skips estimation, so the over-balance transfer is mined and reverts.
    const hash = await buyer.wallet.writeContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [recipient, 1_000_000n * USDC],
      gas: 100_000n,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal('reverted');
    expect(await check(hash, 5n * USDC)).to.deep.include({ ok: false, reason: 'tx_failed' });
  });

  it('reports unconfirmed until the required confirmations exist', async () => {
    const hash = await pay(5n * USDC);
    expect(await check(hash, 5n * USDC, { minConfirmations: 3 })).to.deep.include({ ok: false, reason: 'unconfirmed' });
    await testClient.mine({ blocks: 1 });
    expect(await check(hash, 5n * USDC, { minConfirmations: 3 })).to.deep.include({ ok: false, reason: 'unconfirmed' });
    await testClient.mine({ blocks: 1 });
    expect(await check(hash, 5n * USDC, { minConfirmations: 3 })).to.deep.include({ ok: true, confirmations: 3n });
  });

  it('reports a tx still in the mempool as unconfirmed, then accepts it once mined', async () => {
    await testClient.setAutomine(false);
    let hash: Hash;
    try {
      hash = await buyer.wallet.writeContract({
        address: usdc,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [recipient, 5n * USDC],
      });
      const res = await check(hash, 5n * USDC);
      expect(res).to.deep.include({ ok: false, reason: 'unconfirmed' });
      await testClient.mine({ blocks: 1 });
    } finally {
      await testClient.setAutomine(true);
    }
    expect(await check(hash, 5n * USDC)).to.deep.include({ ok: true, amount: 5n * USDC });
  });

  it('reports an unknown hash as tx_not_found', async () => {
    const unknown = keccak256(toHex('never sent'));
    expect(await check(unknown, 5n * USDC)).to.deep.include({ ok: false, reason: 'tx_not_found' });
  });

  it('reports malformed hashes without touching the chain', async () => {
    for (const bad of ['0x1234', 'hello', 'ab'.repeat(32), `0x${'zz'.repeat(32)}`, `0x${'ab'.repeat(33)}`]) {
      expect(await check(bad, 5n * USDC), bad).to.deep.include({ ok: false, reason: 'malformed_tx_hash' });
    }
  });

  it('throws on caller bugs (bad tolerance or non-positive amount) instead of returning a reason', async () => {
    const hash = keccak256(toHex('x'));
    let err: unknown;
    try {
      await check(hash, 5n * USDC, { tolerancePpm: 1.5 });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RangeError);
    err = undefined;
    try {
      await check(hash, 0n);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RangeError);
  });
});
