import { createPublicClient, createWalletClient, erc20Abi, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { base } from 'viem/chains';
import { BASE_MAINNET_USDC } from '../../adapters/chains/evm/base-mainnet.ts';

/**
 * A client of our own that speaks exactly as the official Proxies.sx MCP server's x402 client does
 * (bolivian-peru/proxies-sx-mcp-server, src/x402/client.ts + wallet.ts): plain fetch, `${base}/x402/…` for
 * purchases and sessions, `${base}/v1/…` for the rest, a 402 body's `paymentRequirement`, a plain USDC
 * `transfer` with viem on Base mainnet (chain 8453, the canonical USDC), then `X-Payment:
 * {transactionHash, network, payer}`. Errors are thrown with the same messages it throws.
 */
export function agentClient(baseUrl: string, privateKey: Hex, rpcUrl: string) {
  const account = privateKeyToAccount(privateKey);
  const publicClient = createPublicClient({ chain: base, transport: http(rpcUrl) });
  const walletClient = createWalletClient({ account, chain: base, transport: http(rpcUrl) });
  const root = baseUrl.replace(/\/$/, '');

  const balance = async () => publicClient.readContract({ address: BASE_MAINNET_USDC, abi: erc20Abi, functionName: 'balanceOf', args: [account.address] });
  async function sendUsdc(recipient: string, amountMicro: string): Promise<Hex> {
    if (!recipient.startsWith('0x') || recipient.length !== 42) throw new Error(`Invalid recipient address: ${recipient}`);
    if ((await balance()) < BigInt(amountMicro)) throw new Error('Insufficient USDC balance');
    const hash = await walletClient.writeContract({ address: BASE_MAINNET_USDC, abi: erc20Abi, functionName: 'transfer', args: [recipient as Address, BigInt(amountMicro)], chain: base, account });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, confirmations: 1, timeout: 60_000 });
    if (receipt.status !== 'success') throw new Error('Transaction failed on-chain');
    return hash;
  }
  const pick = (req: { accepts: Array<{ network: string; payTo: string; maxAmountRequired: string }> }) => {
    const option = req.accepts.find((a) => a.network === 'base') ?? req.accepts[0];
    if (!option) throw new Error('No payment options available in 402 response');
    return option;
  };
  const proof = (transactionHash: string) => JSON.stringify({ transactionHash, network: 'base', payer: account.address });

  return {
    address: account.address,
    balance,
    async purchaseProxy(p: { country: string; durationHours?: number; trafficGB?: number; tier?: string; city?: string; carrier?: string }) {
      const url = new URL(`${root}/x402/proxy`);
      url.searchParams.set('country', p.country);
      url.searchParams.set('duration', String((p.durationHours ?? 1) * 3600));
      url.searchParams.set('traffic', String(p.trafficGB ?? 1));
      if (p.tier) url.searchParams.set('tier', p.tier);
      if (p.city) url.searchParams.set('city', p.city);
      if (p.carrier) url.searchParams.set('carrier', p.carrier);
      const first = await fetch(url.toString());
      if (first.status !== 402) throw new Error(`Expected 402 Payment Required, got ${first.status}: ${await first.text()}`);
      const data = (await first.json()) as { paymentRequirement?: { accepts: Array<{ network: string; payTo: string; maxAmountRequired: string }> } };
      if (!data.paymentRequirement) throw new Error('Missing paymentRequirement in 402 response');
      const option = pick(data.paymentRequirement);
      const tx = await sendUsdc(option.payTo, option.maxAmountRequired);
      const paid = await fetch(url.toString(), { method: 'GET', headers: { 'X-Payment': proof(tx), 'Content-Type': 'application/json' } });
      if (!paid.ok) throw new Error(`Payment verification failed (${paid.status}): ${await paid.text()}`);
      return { body: (await paid.json()) as any, tx, url: url.toString(), requirement: data };
    },
    async sessionStatus(id: string) {
      const res = await fetch(`${root}/x402/sessions/${id}/status`);
      if (!res.ok) throw new Error(`Failed to get session status: ${res.status}`);
      return (await res.json()) as any;
    },
    async listSessions(status: 'active' | 'expired' | 'all' = 'active') {
      const res = await fetch(`${root}/x402/sessions/wallet/${account.address}?status=${status}`);
      if (!res.ok) throw new Error(`Failed to list sessions: ${res.status}`);
      const data = (await res.json()) as any;
      return Array.isArray(data) ? data : data.sessions ?? [];
    },
    async extendSession(id: string, hours: number) {
      const url = `${root}/x402/sessions/${id}/extend?hours=${hours}`;
      const first = await fetch(url, { method: 'POST' });
      if (first.status !== 402) throw new Error(`Expected 402 for extension, got ${first.status}`);
      const option = pick(((await first.json()) as any).paymentRequirement);
      const tx = await sendUsdc(option.payTo, option.maxAmountRequired);
      const res = await fetch(url, { method: 'POST', headers: { 'X-Payment': proof(tx) } });
      if (!res.ok) throw new Error(`Failed to extend session: ${res.status} ${await res.text()}`);
      return { body: (await res.json()) as any, amountMicro: option.maxAmountRequired };
    },
    async rotate(rotationUrl: string) {
      const res = await fetch(rotationUrl);
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      return (await res.json()) as any;
    },
    async countries() { return (await (await fetch(`${root}/v1/countries`)).json()) as any[]; },
    async cities(country: string) { return (await (await fetch(`${root}/v1/cities?country=${country}`)).json()) as any[]; },
    async carriers(country: string) { return (await (await fetch(`${root}/v1/carriers?country=${country}`)).json()) as any[]; },
    async health() { return (await (await fetch(`${root}/v1/x402/health`)).json()) as any; },
  };
}
