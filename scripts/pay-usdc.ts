// Sends a plain USDC transfer from the devnet buyer and prints only the tx hash.
// Usage: tsx scripts/pay-usdc.ts <amountUSDC> [to]   (reads data/devnet.json, or DEVNET_FILE)
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, createWalletClient, defineChain, getAddress, http, parseUnits, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import { transferUsdc } from '../adapters/chains/evm/deploy.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const devnetFile = resolve(repoRoot, process.env['DEVNET_FILE'] ?? 'data/devnet.json');

const hex = z.string().regex(/^0x[0-9a-fA-F]+$/);
const devnetSchema = z.object({
  rpcUrl: z.url(),
  chainId: z.number().int().positive(),
  usdc: hex,
  recipient: hex,
  buyer: z.object({ privateKey: hex }),
});

async function main(): Promise<void> {
  const [amountArg, toArg] = process.argv.slice(2);
  // Decimal string straight to micro-USDC: never through a float.
  if (!amountArg || !/^\d+(\.\d{1,6})?$/.test(amountArg)) {
    throw new Error('usage: tsx scripts/pay-usdc.ts <amountUSDC, up to 6 decimals> [to]');
  }
  const amount = parseUnits(amountArg, 6);
  if (amount <= 0n) throw new Error('amount must be positive');

  let raw: string;
  try {
    raw = await readFile(devnetFile, 'utf8');
  } catch {
    throw new Error(`${devnetFile} not found; start the devnet first (npm run devnet)`);
  }
  const devnet = devnetSchema.parse(JSON.parse(raw));
  const to: Address = getAddress(toArg ?? devnet.recipient);

  const chain = defineChain({
    id: devnet.chainId,
    name: 'devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [devnet.rpcUrl] } },
  });
  const transport = http(devnet.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
  const wallet = createWalletClient({ chain, transport, account: privateKeyToAccount(devnet.buyer.privateKey as Hex) });
  const hash = await transferUsdc({ wallet, publicClient, usdc: getAddress(devnet.usdc), to, amount });
  console.log(hash);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
