// Prints the USDC balance of a Solana wallet on the running devnet's localnet (`npm run devnet -- --solana`).
// Usage: npm run -s solana-usdc -- <wallet address>
import { readFileSync } from 'node:fs';
import { Connection, PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync } from '@solana/spl-token';

const wallet = process.argv[2];
const devnet = JSON.parse(readFileSync(process.env.DEVNET_FILE ?? 'data/devnet.json', 'utf8')) as { solana: { rpcUrl: string; usdcMint: string } | null };
if (!wallet || !devnet.solana) {
  console.error(!wallet ? 'usage: npm run -s solana-usdc -- <wallet address>' : 'the devnet runs without Solana: start it with npm run devnet -- --solana');
  process.exit(2);
}
const connection = new Connection(devnet.solana.rpcUrl, 'confirmed');
const ata = getAssociatedTokenAddressSync(new PublicKey(devnet.solana.usdcMint), new PublicKey(wallet));
const balance = await connection.getTokenAccountBalance(ata).then((r) => r.value.uiAmountString ?? '0', () => '0');
console.log(`${balance} USDC`);
