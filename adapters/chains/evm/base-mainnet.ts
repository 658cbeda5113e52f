// Base mainnet impersonation for local tests of clients that hard-code it (chain 8453, the canonical USDC
// contract): anvil runs with chain id 8453 and MockUSDC's runtime code is placed at the canonical address.
// MockUSDC keeps no constructor state and computes its EIP-712 domain from block.chainid and address(this),
// so the copied code behaves at the new address exactly as where it was deployed.
import { getAddress, type Address, type Hex } from 'viem';
import { devClients, startAnvil, type AnvilHandle, type StartAnvilOptions } from './anvil.ts';
import { deployMockUsdc, mintUsdc } from './deploy.ts';

export const BASE_MAINNET_CHAIN_ID = 8453;
export const BASE_MAINNET_USDC: Address = getAddress('0x833589fcd6edb6e08f4c7c32d4f71b54bda02913');

export interface BaseMainnetDevnet {
  anvil: AnvilHandle;
  usdc: Address;
  settler: { address: Address; privateKey: Hex };
  agent: { address: Address; privateKey: Hex };
  recipient: Address;
  /** The service's variables for this chain. */
  env: Record<string, string>;
}

/** anvil as Base mainnet with USDC at its canonical address and an agent wallet holding `agentFundsMicro`. */
export async function startBaseMainnetDevnet(opts: Omit<StartAnvilOptions, 'chainId'> & { agentFundsMicro: bigint }): Promise<BaseMainnetDevnet> {
  const anvil = await startAnvil({ ...opts, chainId: BASE_MAINNET_CHAIN_ID });
  try {
    const [settler, agent, recipient] = anvil.accounts;
    if (!settler || !agent || !recipient) throw new Error('anvil returned fewer than 3 accounts');
    const { publicClient, wallet } = devClients(anvil, settler.privateKey);
    const { address: deployed } = await deployMockUsdc({ wallet, publicClient });
    const code = await publicClient.getCode({ address: deployed });
    if (!code) throw new Error('MockUSDC has no runtime code');
    await publicClient.request({ method: 'anvil_setCode' as never, params: [BASE_MAINNET_USDC, code] as never });
    await mintUsdc({ wallet, publicClient, usdc: BASE_MAINNET_USDC, to: agent.address, amount: opts.agentFundsMicro });
    return {
      anvil, usdc: BASE_MAINNET_USDC, settler, agent, recipient: recipient.address,
      env: {
        BASE_RPC_URL: anvil.rpcUrl,
        BASE_CHAIN_ID: String(BASE_MAINNET_CHAIN_ID),
        BASE_USDC_ADDRESS: BASE_MAINNET_USDC,
        BASE_RECIPIENT: recipient.address,
        X402_SETTLER_PRIVATE_KEY: settler.privateKey,
        BASE_MIN_CONFIRMATIONS: '1',
      },
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
