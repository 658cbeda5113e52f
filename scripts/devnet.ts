// Local Base stand-in: anvil + MockUSDC, a funded buyer, and the env the service needs.
// Usage: npm run devnet   (env: DEVNET_PORT=8545, DEVNET_CHAIN_ID=31337, DEVNET_FILE=data/devnet.json)
//        npm run devnet -- --base-mainnet   (or DEVNET_MODE=base-mainnet): anvil as Base mainnet (chain 8453, USDC at
//        its canonical address), for agent clients that hard-code it; the funded buyer is the agent wallet.
//        npm run devnet -- --solana   (or DEVNET_SOLANA=1): also the LiteSVM Solana localnet (JSON-RPC) with USDC, a peer
//        payout treasury holding 1,000 USDC and the Solana payment variables, so peer withdrawals land on it.
import { randomInt } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devClients, startAnvil } from '../adapters/chains/evm/anvil.ts';
import { deployMockUsdc, mintUsdc } from '../adapters/chains/evm/deploy.ts';
import { startBaseMainnetDevnet } from '../adapters/chains/evm/base-mainnet.ts';
import { startSolanaLocalnet, type SolanaLocalnet } from '../adapters/chains/solana/localnet.ts';
import { getBase58Decoder } from '@solana/kit';
import { toHex } from 'viem';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const port = Number(process.env['DEVNET_PORT'] ?? 8545);
const chainId = Number(process.env['DEVNET_CHAIN_ID'] ?? 31337);
const outFile = resolve(repoRoot, process.env['DEVNET_FILE'] ?? 'data/devnet.json');
const BUYER_FUNDS = 1_000_000_000n; // 1,000 USDC in micro-USDC

const baseMainnet = process.argv.includes('--base-mainnet') || process.env['DEVNET_MODE'] === 'base-mainnet';
const withSolana = process.argv.includes('--solana') || process.env['DEVNET_SOLANA'] === '1';

async function main(): Promise<void> {
  const mainnet = baseMainnet ? await startBaseMainnetDevnet({ port, agentFundsMicro: BUYER_FUNDS }) : null;
  const anvil = mainnet?.anvil ?? (await startAnvil({ port, chainId }));
  let solana: SolanaLocalnet | null = null;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await rm(outFile, { force: true }); // the chain state dies with anvil
    await anvil.stop();
    await solana?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  void anvil.exited.then((code) => {
    if (stopping) return;
    console.error(`devnet: anvil exited unexpectedly (code ${code})`);
    void shutdown(1);
  });

  try {
    const [settler, buyer, recipient] = anvil.accounts;
    if (!settler || !buyer || !recipient) throw new Error('anvil returned fewer than 3 accounts');
    const { publicClient, wallet } = devClients(anvil, settler.privateKey);

    let usdc = mainnet?.usdc;
    if (!usdc) {
      usdc = (await deployMockUsdc({ wallet, publicClient })).address;
      await mintUsdc({ wallet, publicClient, usdc, to: buyer.address, amount: BUYER_FUNDS });
    }
    // Every run is a new chain with the same keys, contract and amounts, so the buyer's transfers would repeat the
    // last run's tx hashes, which a service that kept its DATA_DIR holds as used proofs (409 PAYMENT_ALREADY_USED).
    // Starting the buyer at a random nonce makes each run's transactions new.
    await publicClient.request({ method: 'anvil_setNonce' as never, params: [buyer.address, toHex(randomInt(1, 2 ** 47))] as never });

    const env: Record<string, string> = {
      BASE_RPC_URL: anvil.rpcUrl,
      BASE_CHAIN_ID: String(anvil.chainId),
      BASE_USDC_ADDRESS: usdc,
      BASE_RECIPIENT: recipient.address,
      X402_SETTLER_PRIVATE_KEY: settler.privateKey,
      BASE_MIN_CONFIRMATIONS: '1',
    };
    let solanaInfo: Record<string, unknown> | null = null;
    if (withSolana) {
      solana = await startSolanaLocalnet();
      const treasury = solana.createWallet({ usdc: BUYER_FUNDS });
      const recipient = solana.createWallet();
      Object.assign(env, {
        SOLANA_RPC_URL: solana.rpcUrl, SOLANA_USDC_MINT: solana.usdcMint.toBase58(), SOLANA_RECIPIENT: recipient.publicKey.toBase58(),
        PEER_TREASURY_SECRET: getBase58Decoder().decode(treasury.secretKey),
      });
      solanaInfo = { rpcUrl: solana.rpcUrl, usdcMint: solana.usdcMint.toBase58(), treasury: treasury.publicKey.toBase58(), recipient: recipient.publicKey.toBase58() };
    }
    const info = {
      solana: solanaInfo,
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      network: `eip155:${anvil.chainId}`,
      usdc,
      buyer: { address: buyer.address, privateKey: buyer.privateKey, usdcMicro: BUYER_FUNDS.toString() },
      mode: mainnet ? 'base-mainnet' : 'local',
      recipient: recipient.address,
      settler: { address: settler.address, privateKey: settler.privateKey },
      env,
    };
    await mkdir(dirname(outFile), { recursive: true });
    await writeFile(outFile, `${JSON.stringify(info, null, 2)}\n`);

    console.log(`devnet: anvil ${anvil.rpcUrl} (chain ${anvil.chainId}), MockUSDC ${usdc}`);
    console.log(`devnet: buyer ${buyer.address} holds 1000 USDC; recipient ${recipient.address}`);
    if (solanaInfo) console.log(`devnet: Solana localnet ${solanaInfo.rpcUrl}, USDC mint ${solanaInfo.usdcMint}; peer payout treasury ${solanaInfo.treasury} holds 1000 USDC`);
    console.log(`devnet: wrote ${outFile}; service env:`);
    for (const [k, v] of Object.entries(env)) console.log(`${k}=${v}`);
    if (mainnet) {
      console.log('devnet: impersonating Base mainnet (chain 8453, USDC at its canonical address). Agent client env:');
      console.log(`AGENT_WALLET_KEY=${buyer.privateKey} BASE_RPC_URL=${anvil.rpcUrl} PROXIES_API_URL=http://localhost:3000`);
    }
    console.log('devnet ready (Ctrl-C to stop)');
  } catch (err) {
    console.error('devnet failed:', err);
    await shutdown(1);
  }
}

void main().catch((err: unknown) => {
  console.error('devnet failed:', err);
  process.exit(1);
});
