import { expect } from 'chai';
import {
  domainSeparator,
  hashTypedData,
  recoverAddress,
  keccak256,
  parseSignature,
  toHex,
  numberToHex,
  hexToBigInt,
  type Abi,
  type Address,
  type Hex,
} from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { devClients, startAnvil, type AnvilHandle } from '../../../../adapters/chains/evm/anvil.ts';
import { compileMockUsdc } from '../../../../adapters/chains/evm/compile.ts';
import { deployMockUsdc, mintUsdc, usdcBalance } from '../../../../adapters/chains/evm/deploy.ts';

// secp256k1 group order, to build the malleable twin (n - s) of a valid signature.
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe('contracts/MockUSDC EIP-3009 (anvil)', function () {
  this.timeout(30_000);

  let anvil: AnvilHandle;
  let abi: Abi;
  let usdc: Address;
  let payer: PrivateKeyAccount;
  let payee: ReturnType<typeof devClients>;
  let relayer: ReturnType<typeof devClients>;

  before(async () => {
    anvil = await startAnvil();
    const [a0, a1, a2] = anvil.accounts;
    if (!a0 || !a1 || !a2) throw new Error('need 3 anvil accounts');
    relayer = devClients(anvil, a0.privateKey);
    payer = privateKeyToAccount(a1.privateKey);
    payee = devClients(anvil, a2.privateKey);
    const artifact = await compileMockUsdc();
    abi = artifact.abi;
    usdc = (await deployMockUsdc({ ...relayer, artifact })).address;
    await mintUsdc({ ...relayer, usdc, to: payer.address, amount: 100_000_000n });
  });

  after(async () => {
    await anvil?.stop();
  });

  const domain = () => ({ name: 'USD Coin', version: '2', chainId: anvil.chainId, verifyingContract: usdc });
  const read = (functionName: string, args: unknown[] = []) =>
    relayer.publicClient.readContract({ address: usdc, abi, functionName, args });

  async function authorize(primaryType: 'TransferWithAuthorization' | 'ReceiveWithAuthorization', label: string) {
    const nowSec = BigInt(Math.floor(Date.now() / 1000));
    const message = {
      from: payer.address,
      to: payee.wallet.account.address,
      value: 1_000_000n,
      validAfter: 0n,
      validBefore: nowSec + 3600n,
      nonce: keccak256(toHex(label)),
    };
    const fields = [
      { name: 'from', type: 'address' },
      { name: 'to', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'validAfter', type: 'uint256' },
      { name: 'validBefore', type: 'uint256' },
      { name: 'nonce', type: 'bytes32' },
    ] as const;
    const signature = await payer.signTypedData({ domain: domain(), types: { [primaryType]: fields }, primaryType, message });
    const args = [message.from, message.to, message.value, message.validAfter, message.validBefore, message.nonce] as const;
    const digest = hashTypedData({ domain: domain(), types: { [primaryType]: fields }, primaryType, message });
    return { message, signature, args, digest };
  }

  async function send(client: ReturnType<typeof devClients>, functionName: string, args: readonly unknown[]) {
    const hash = await client.wallet.writeContract({ address: usdc, abi, functionName, args, gas: 300_000n });
    return (await client.publicClient.waitForTransactionReceipt({ hash })).status;
  }

  async function revertReason(functionName: string, args: readonly unknown[]): Promise<string> {
    try {
      await relayer.publicClient.simulateContract({
        address: usdc,
        abi,
        functionName,
        args,
        account: relayer.wallet.account,
      });
      return 'did not revert';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  it('exposes the EIP-712 domain x402 clients sign against', async () => {
    expect(await read('name')).to.equal('USD Coin');
    expect(await read('version')).to.equal('2');
    expect(await read('decimals')).to.equal(6);
    expect(await read('DOMAIN_SEPARATOR')).to.equal(domainSeparator({ domain: domain() }));
  });

  it('accepts the bytes-signature overload and rejects the malleable high-s twin', async () => {
    const { signature, args, digest } = await authorize('TransferWithAuthorization', 'bytes-overload');
    const sig = parseSignature(signature);
    const highS = numberToHex(SECP256K1_N - hexToBigInt(sig.s), { size: 32 });
    const flippedV = sig.yParity === 0 ? '1c' : '1b';
    const twin = `${sig.r}${highS.slice(2)}${flippedV}` as Hex;
    // ecrecover would accept the twin as the payer's; only the low-s rule stops it.
    expect(await recoverAddress({ hash: digest, signature: twin })).to.equal(payer.address);
    expect(await revertReason('transferWithAuthorization', [...args, twin])).to.match(/invalid signature/);

    const before = await usdcBalance(relayer.publicClient, usdc, payee.wallet.account.address);
    expect(await send(relayer, 'transferWithAuthorization', [...args, signature])).to.equal('success');
    expect(await usdcBalance(relayer.publicClient, usdc, payee.wallet.account.address)).to.equal(before + 1_000_000n);
    expect(await read('authorizationState', [payer.address, args[5]])).to.equal(true);
  });

  it('lets only the payee submit receiveWithAuthorization', async () => {
    const { signature, args } = await authorize('ReceiveWithAuthorization', 'receive');
    const { v, r, s } = parseSignature(signature);
    const vrs = [...args, Number(v), r, s];
    expect(await revertReason('receiveWithAuthorization', vrs)).to.match(/caller must be the payee/);
    expect(await send(payee, 'receiveWithAuthorization', vrs)).to.equal('success');
  });

  it('cancels an unused authorization so it can no longer be used', async () => {
    const { signature, args } = await authorize('TransferWithAuthorization', 'to-cancel');
    const nonce = args[5];
    const cancelSig = await payer.signTypedData({
      domain: domain(),
      types: {
        CancelAuthorization: [
          { name: 'authorizer', type: 'address' },
          { name: 'nonce', type: 'bytes32' },
        ],
      },
      primaryType: 'CancelAuthorization',
      message: { authorizer: payer.address, nonce },
    });
    const { v, r, s } = parseSignature(cancelSig);
    expect(await send(relayer, 'cancelAuthorization', [payer.address, nonce, Number(v), r, s])).to.equal('success');
    expect(await read('authorizationState', [payer.address, nonce])).to.equal(true);
    expect(await revertReason('transferWithAuthorization', [...args, signature])).to.match(/used or canceled/);
  });
});
