// Devnet token helpers: deploy MockUSDC, mint to a buyer, send a plain USDC transfer.
import {
  erc20Abi,
  getAddress,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { compileMockUsdc, type ContractArtifact } from './compile.ts';

export type SignerClient = WalletClient<Transport, Chain, Account>;

interface Clients {
  wallet: SignerClient;
  publicClient: PublicClient;
}

const mintAbi = [
  {
    type: 'function',
    name: 'mint',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'to', type: 'address' },
      { name: 'value', type: 'uint256' },
    ],
    outputs: [],
  },
] as const;

export async function deployMockUsdc(
  opts: Clients & { artifact?: ContractArtifact },
): Promise<{ address: Address; txHash: Hash }> {
  const artifact = opts.artifact ?? (await compileMockUsdc());
  const txHash = await opts.wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode });
  const receipt = await opts.publicClient.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new Error(`MockUSDC deployment ${txHash} failed (status ${receipt.status})`);
  }
  return { address: getAddress(receipt.contractAddress), txHash };
}

/** Mints `amount` micro-USDC to `to`; resolves once mined. */
export async function mintUsdc(opts: Clients & { usdc: Address; to: Address; amount: bigint }): Promise<Hash> {
  const hash = await opts.wallet.writeContract({
    address: opts.usdc,
    abi: mintAbi,
    functionName: 'mint',
    args: [opts.to, opts.amount],
  });
  await requireSuccess(opts.publicClient, hash, 'mint');
  return hash;
}

/** Plain ERC-20 transfer of `amount` micro-USDC from the wallet's account; resolves once mined. */
export async function transferUsdc(opts: Clients & { usdc: Address; to: Address; amount: bigint }): Promise<Hash> {
  const hash = await opts.wallet.writeContract({
    address: opts.usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [opts.to, opts.amount],
  });
  await requireSuccess(opts.publicClient, hash, 'transfer');
  return hash;
}

export async function usdcBalance(publicClient: PublicClient, usdc: Address, owner: Address): Promise<bigint> {
  return publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [owner] });
}

async function requireSuccess(publicClient: PublicClient, hash: Hash, what: string): Promise<void> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`USDC ${what} ${hash} reverted`);
}
