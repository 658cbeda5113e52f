import { x402Client } from '@x402/core/client';
import type { Network } from '@x402/core/types';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { createPublicClient, erc20Abi, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { ApiClient, Fetch } from './api.ts';
import type { McpConfig } from './config.ts';

/**
 * The agent's Base wallet. Pays with x402 `exact` (an EIP-3009 authorization the server settles, so the
 * wallet needs no gas) through the official @x402/fetch client. The network and USDC contract are the
 * ones the API advertises (/v1/x402/info), capped at MCP_MAX_PAYMENT_USDC per payment.
 */
export function agentWallet(config: McpConfig, api: ApiClient) {
  if (!config.AGENT_WALLET_KEY) return null;
  const key = (config.AGENT_WALLET_KEY.startsWith('0x') ? config.AGENT_WALLET_KEY : `0x${config.AGENT_WALLET_KEY}`) as Hex;
  const account = privateKeyToAccount(key);
  let terms: Promise<{ network: string; asset: Address; recipient: string }> | undefined;
  const baseTerms = () => (terms ??= api.get('/v1/x402/info').then((info: any) => {
    const base = info?.wallets?.base;
    if (!base) throw new Error('this API does not take payments on Base');
    return { network: base.network as string, asset: base.asset as Address, recipient: base.recipient as string };
  }).catch((e) => { terms = undefined; throw e; }));

  let paying: Promise<Fetch> | undefined;
  const payingFetch = () => (paying ??= baseTerms().then((t) => {
    const cap = BigInt(Math.round(config.MCP_MAX_PAYMENT_USDC * 1e6)).toString();
    const client = x402Client.fromConfig({
      schemes: [{ network: t.network as Network, client: new ExactEvmScheme(account) }],
      spendControls: { maxAmountPerPayment: `$${config.MCP_MAX_PAYMENT_USDC}`, allowedAssets: [{ network: t.network as Network, asset: t.asset, maxAmountPerPayment: cap }] },
    });
    return wrapFetchWithPayment(fetch, client) as Fetch;
  }).catch((e) => { paying = undefined; throw e; }));

  return {
    address: account.address,
    payingFetch,
    async balance(): Promise<{ micro: bigint; network: string; asset: string }> {
      if (!config.BASE_RPC_URL) throw new Error('set BASE_RPC_URL to read the wallet balance');
      const t = await baseTerms();
      const client = createPublicClient({ transport: http(config.BASE_RPC_URL) });
      const micro = await client.readContract({ address: t.asset, abi: erc20Abi, functionName: 'balanceOf', args: [account.address] });
      return { micro, network: t.network, asset: t.asset };
    },
  };
}
export type AgentWallet = NonNullable<ReturnType<typeof agentWallet>>;
