/**
 * Real local chains for end-to-end payment tests: anvil (chain 84532, i.e. what x402 v1 calls
 * "base-sepolia") with MockUSDC, and the LiteSVM Solana localnet (reports devnet's genesis, so
 * CAIP-2 solana:EtWTRABZ…, v1 "solana-devnet"), plus a buyer funded on both and an x402 client.
 *
 *   const chains = await startChains();
 *   const payments = await createPaymentProcessor(loadPaymentConfig(chains.env));
 *   await payments.collect(await chains.base.payUsdc(4_000_000n), 4_000_000n);
 *   ...
 *   await chains.stop();
 *
 * startFacilitator() runs a real x402 facilitator (express: /supported, /verify, /settle) over
 * the same chain adapters, for the X402_FACILITATOR_URL path.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  Keypair,
  PublicKey,
  Transaction,
  TransactionInstruction,
  type Connection,
} from '@solana/web3.js';
import { createAssociatedTokenAccountIdempotentInstruction, createTransferCheckedInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { createKeyPairSignerFromBytes, getBase58Decoder } from '@solana/kit';
import { x402Client } from '@x402/core/client';
import type { Network, PaymentPayload, PaymentRequirements, SupportedKind } from '@x402/core/types';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { EVM_NETWORK_CHAIN_ID_MAP, ExactEvmSchemeV1 } from '@x402/evm/v1';
import { wrapFetchWithPayment } from '@x402/fetch';
import { V1_TO_V2_NETWORK_MAP } from '@x402/svm';
import { ExactSvmScheme } from '@x402/svm/exact/client';
import { ExactSvmSchemeV1 } from '@x402/svm/v1';
import { createPublicClient, createTestClient, createWalletClient, defineChain, erc20Abi, http, type Address, type Hash, type PublicClient } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { devClients, startAnvil } from '../../adapters/chains/evm/anvil.ts';
import { compileMockUsdc } from '../../adapters/chains/evm/compile.ts';
import { deployMockUsdc, mintUsdc, transferUsdc, usdcBalance } from '../../adapters/chains/evm/deploy.ts';
import { X402_ERROR_CODE, createExactEvm, networkOf, readTokenDomain, type ExactEvm } from '../../adapters/chains/evm/x402-exact.ts';
import { startSolanaLocalnet, USDC_DECIMALS, type SolanaLocalnet } from '../../adapters/chains/solana/localnet.ts';
import { createSolanaExactFacilitator, fetchSolanaNetworkId, type SolanaExactFacilitator } from '../../adapters/chains/solana/x402-exact.ts';
import type { PaymentConfig } from '../../adapters/payments/config.ts';
import type { PaymentNetwork } from '../../adapters/payments/port.ts';

const USDC = 1_000_000n;
/** What the buyer holds on each chain at start: 1,000 USDC. */
export const BUYER_FUNDS_MICRO = 1_000n * USDC;
const BASE_CHAIN_ID = 84532;
const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');

export interface Chains {
  /** The payment variables (see adapters/payments/config.ts) pointing at the local chains: both networks enabled, own settler and fee payer, no facilitator. */
  env: Record<string, string>;
  base: {
    rpcUrl: string;
    chainId: number;
    /** eip155:84532 */
    caip2: string;
    /** MockUSDC, the configured BASE_USDC_ADDRESS. */
    usdc: Address;
    /** A second MockUSDC the buyer also holds: "not USDC" for wrong-token cases. */
    otherToken: Address;
    /** BASE_RECIPIENT. */
    recipient: Address;
    /** An address that is neither buyer nor recipient, for wrong-recipient cases. */
    stranger: Address;
    /** The buyer's account (1,000 USDC and 1,000 of otherToken); signs, never exposes its key as a field. */
    buyer: PrivateKeyAccount;
    /** Plain USDC transfer from the buyer, mined; resolves to the tx hash. */
    payUsdc(amountMicro: bigint, to?: Address): Promise<Hash>;
    /** Same, in otherToken. */
    payToken(amountMicro: bigint, to?: Address): Promise<Hash>;
    /** A USDC transfer to the recipient that is mined and reverts (more than the buyer holds). */
    revertingTx(): Promise<Hash>;
    /** Mines empty blocks (adds confirmations). */
    mine(blocks: number): Promise<void>;
    /** USDC balance of any address, micro-USDC. */
    balance(owner: Address): Promise<bigint>;
  };
  solana: {
    rpcUrl: string;
    /** solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1 (the localnet reports devnet's genesis hash). */
    caip2: string;
    /** SOLANA_USDC_MINT. */
    usdcMint: string;
    /** A second 6-decimal mint the buyer also holds, for wrong-token cases. */
    otherMint: string;
    /** SOLANA_RECIPIENT (its USDC account exists, as the exact scheme requires). */
    recipient: string;
    /** A wallet that is neither buyer nor recipient, for wrong-recipient cases. */
    stranger: string;
    /** Buyer wallet address (1 SOL, 1,000 USDC, 1,000 of otherMint). */
    buyer: string;
    /** Address of the fee payer behind SOLANA_FEE_PAYER_SECRET. */
    feePayer: string;
    /** USDC transferChecked from the buyer, confirmed; resolves to the signature. */
    payUsdc(amountMicro: bigint, to?: string): Promise<string>;
    /** Same, in otherMint. */
    payToken(amountMicro: bigint, to?: string): Promise<string>;
    /** A USDC transfer to the recipient that lands and fails (more than the buyer holds). */
    failedTx(): Promise<string>;
    /** USDC balance of a wallet's associated token account, micro-USDC. */
    balance(owner: string): bigint;
    /** The localnet itself, e.g. for expireBlockhash(). */
    localnet: SolanaLocalnet;
  };
  /** fetch wrapped by the official @x402/fetch client, paying as the buyer on one network (x402 v2 and v1). */
  x402Fetch(network: PaymentNetwork): typeof fetch;
  /** Stops anvil and the localnet. */
  stop(): Promise<void>;
}

export async function startChains(): Promise<Chains> {
  const anvil = await startAnvil({ chainId: BASE_CHAIN_ID });
  let net: SolanaLocalnet | undefined;
  try {
    net = await startSolanaLocalnet();
    const base = await setUpBase(anvil);
    const solana = await setUpSolana(net);
    const env = {
      BASE_RPC_URL: anvil.rpcUrl,
      BASE_CHAIN_ID: String(anvil.chainId),
      BASE_USDC_ADDRESS: base.api.usdc,
      BASE_RECIPIENT: base.api.recipient,
      BASE_MIN_CONFIRMATIONS: '1',
      X402_SETTLER_PRIVATE_KEY: base.settlerKey,
      SOLANA_RPC_URL: net.rpcUrl,
      SOLANA_USDC_MINT: solana.api.usdcMint,
      SOLANA_RECIPIENT: solana.api.recipient,
      SOLANA_FEE_PAYER_SECRET: solana.feePayerSecret,
    };
    const localnet = net;
    return {
      env,
      base: base.api,
      solana: solana.api,
      x402Fetch: (network) => wrapFetchWithPayment(fetch, network === 'base' ? base.client : solana.client),
      stop: async () => {
        await Promise.all([anvil.stop(), localnet.stop()]);
      },
    };
  } catch (err) {
    await Promise.all([anvil.stop(), net?.stop()]);
    throw err;
  }
}

async function setUpBase(anvil: Awaited<ReturnType<typeof startAnvil>>) {
  const [settlerAcc, buyerAcc, recipientAcc, strangerAcc] = anvil.accounts;
  if (!settlerAcc || !buyerAcc || !recipientAcc || !strangerAcc) throw new Error('anvil returned fewer than 4 accounts');
  const deployer = devClients(anvil, settlerAcc.privateKey);
  const buyerClients = devClients(anvil, buyerAcc.privateKey);
  const artifact = await compileMockUsdc();
  const usdc = (await deployMockUsdc({ ...deployer, artifact })).address;
  const otherToken = (await deployMockUsdc({ ...deployer, artifact })).address;
  await mintUsdc({ ...deployer, usdc, to: buyerAcc.address, amount: BUYER_FUNDS_MICRO });
  await mintUsdc({ ...deployer, usdc: otherToken, to: buyerAcc.address, amount: BUYER_FUNDS_MICRO });
  const testClient = createTestClient({ chain: anvil.chain, mode: 'anvil', transport: http(anvil.rpcUrl) });
  const buyer = privateKeyToAccount(buyerAcc.privateKey);
  const caip2 = networkOf(anvil.chainId);
  const recipient = recipientAcc.address;

  const v1Name = Object.entries(EVM_NETWORK_CHAIN_ID_MAP).find(([, id]) => id === anvil.chainId)?.[0];
  const client = x402Client.fromConfig({
    schemes: [
      { network: caip2, client: new ExactEvmScheme(buyer) },
      ...(v1Name ? [{ network: v1Name as Network, client: new ExactEvmSchemeV1(buyer), x402Version: 1 }] : []),
    ],
    // MockUSDC is not in @x402's default-asset table: opt it in.
    spendControls: { allowedAssets: [caip2, ...(v1Name ? [v1Name] : [])].map((network) => ({ network: network as Network, asset: usdc })) },
  });

  const api: Chains['base'] = {
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    caip2,
    usdc,
    otherToken,
    recipient,
    stranger: strangerAcc.address,
    buyer,
    payUsdc: (amountMicro, to = recipient) => transferUsdc({ ...buyerClients, usdc, to, amount: amountMicro }),
    payToken: (amountMicro, to = recipient) => transferUsdc({ ...buyerClients, usdc: otherToken, to, amount: amountMicro }),
    revertingTx: async () => {
      // Explicit gas skips estimation, so the over-balance transfer is mined and reverts.
      const hash = await buyerClients.wallet.writeContract({
        address: usdc,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [recipient, BUYER_FUNDS_MICRO * 1_000n],
        gas: 100_000n,
      });
      const receipt = await buyerClients.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'reverted') throw new Error('revertingTx did not revert');
      return hash;
    },
    mine: (blocks) => testClient.mine({ blocks }),
    balance: (owner) => usdcBalance(buyerClients.publicClient, usdc, owner),
  };
  return { api, client, settlerKey: settlerAcc.privateKey };
}

async function setUpSolana(net: SolanaLocalnet) {
  const conn = net.connection();
  const buyer = net.createWallet({ lamports: 1_000_000_000n, usdc: BUYER_FUNDS_MICRO });
  const feePayer = net.createWallet({ lamports: 10_000_000_000n });
  const recipient = Keypair.generate().publicKey;
  net.createAta(net.usdcMint, recipient);
  const other = net.createMint(USDC_DECIMALS);
  net.mintTo(other.mint, other.authority, buyer.publicKey, BUYER_FUNDS_MICRO);
  const signer = await createKeyPairSignerFromBytes(buyer.secretKey);
  let memoNonce = 0;

  // A unique memo per transfer: identical transfers under one blockhash would share a signature.
  const transfer = (mint: PublicKey, to: PublicKey, amount: bigint) => {
    const destination = getAssociatedTokenAddressSync(mint, to, true);
    return new Transaction().add(
      createAssociatedTokenAccountIdempotentInstruction(buyer.publicKey, destination, to, mint),
      createTransferCheckedInstruction(getAssociatedTokenAddressSync(mint, buyer.publicKey), mint, destination, buyer.publicKey, amount, USDC_DECIMALS),
      new TransactionInstruction({ programId: MEMO_PROGRAM_ID, keys: [], data: Buffer.from(`chains:${memoNonce++}`) }),
    );
  };
  // Signed here against the current blockhash: web3.js caches one for 30 s, which a test may have expired.
  const send = async (c: Connection, tx: Transaction, opts: { failing?: boolean } = {}) => {
    const latest = await c.getLatestBlockhash();
    tx.recentBlockhash = latest.blockhash;
    tx.feePayer = buyer.publicKey;
    tx.sign(buyer);
    const signature = await c.sendRawTransaction(tx.serialize(), { skipPreflight: opts.failing === true });
    // confirmTransaction throws the error of a failed transaction; the localnet lands it synchronously anyway.
    if (!opts.failing) await c.confirmTransaction({ signature, ...latest });
    return signature;
  };

  const v1Name = Object.entries(V1_TO_V2_NETWORK_MAP).find(([, caip2]) => caip2 === net.network)?.[0];
  const client = x402Client.fromConfig({
    schemes: [
      { network: net.network, client: new ExactSvmScheme(signer, { rpcUrl: net.rpcUrl }) },
      ...(v1Name ? [{ network: v1Name as Network, client: new ExactSvmSchemeV1(signer, { rpcUrl: net.rpcUrl }), x402Version: 1 }] : []),
    ],
    spendControls: {
      allowedAssets: [net.network, ...(v1Name ? [v1Name] : [])].map((network) => ({ network: network as Network, asset: net.usdcMint.toBase58() })),
    },
  });

  const api: Chains['solana'] = {
    rpcUrl: net.rpcUrl,
    caip2: net.network,
    usdcMint: net.usdcMint.toBase58(),
    otherMint: other.mint.toBase58(),
    recipient: recipient.toBase58(),
    stranger: Keypair.generate().publicKey.toBase58(),
    buyer: buyer.publicKey.toBase58(),
    feePayer: feePayer.publicKey.toBase58(),
    payUsdc: (amountMicro, to = recipient.toBase58()) => send(conn, transfer(net.usdcMint, new PublicKey(to), amountMicro)),
    payToken: (amountMicro, to = recipient.toBase58()) => send(conn, transfer(other.mint, new PublicKey(to), amountMicro)),
    failedTx: () => send(conn, transfer(net.usdcMint, recipient, BUYER_FUNDS_MICRO * 1_000n), { failing: true }),
    balance: (owner) => net.tokenBalance(net.usdcMint, new PublicKey(owner)),
    localnet: net,
  };
  return { api, client, feePayerSecret: getBase58Decoder().decode(feePayer.secretKey) };
}

// ------------------------------------------------------------------ a real x402 facilitator

export interface FacilitatorHandle {
  /** Base URL, for X402_FACILITATOR_URL. */
  url: string;
  /** "METHOD /path" of every request served, in order. */
  requests: string[];
  /** Closes the server. */
  stop(): Promise<void>;
}

type Scheme = {
  kind: SupportedKind;
  signer: string;
  verify(p: unknown, r: PaymentRequirements): Promise<{ isValid: boolean; invalidReason?: string; invalidMessage?: string; payer?: string }>;
  settle(p: unknown, r: PaymentRequirements): Promise<{ success: boolean; errorReason?: string; errorMessage?: string; payer?: string; transaction: string; network: Network }>;
};

/**
 * An x402 facilitator over HTTP for the networks in `config`, settling with its settler key
 * (Base) and fee payer (Solana) through the same chain adapters the processor uses.
 */
export async function startFacilitator(config: PaymentConfig): Promise<FacilitatorHandle> {
  const schemes = new Map<string, Scheme>();
  if (config.base?.settlerKey) {
    const exact = await evmExact(config.base.rpcUrl, config.base.chainId, config.base.usdc, config.base.settlerKey.reveal());
    schemes.set(exact.scheme.network, evmScheme(exact.scheme, exact.address));
  }
  if (config.solana?.feePayerSecret) {
    const network = (config.solana.network as Network | undefined) ?? (await fetchSolanaNetworkId(config.solana.rpcUrl));
    const feePayer = await createKeyPairSignerFromBytes(config.solana.feePayerSecret.reveal());
    const svm = createSolanaExactFacilitator({ rpcUrl: config.solana.rpcUrl, network, feePayer });
    schemes.set(network, svmScheme(svm));
  }

  const requests: string[] = [];
  const app = express();
  app.use(express.json({ limit: '1mb' }));
  app.use((req, _res, next) => {
    requests.push(`${req.method} ${req.path}`);
    next();
  });
  app.get('/supported', (_req, res) => {
    const signers: Record<string, string[]> = {};
    for (const s of schemes.values()) {
      const family = `${s.kind.network.split(':')[0]}:*`;
      signers[family] = [...(signers[family] ?? []), s.signer];
    }
    res.json({ kinds: [...schemes.values()].map((s) => s.kind), extensions: [], signers });
  });
  const body = (raw: unknown): { payload: PaymentPayload; requirements: PaymentRequirements } | undefined => {
    const b = raw as { paymentPayload?: unknown; paymentRequirements?: unknown } | undefined;
    const ok = (v: unknown) => typeof v === 'object' && v !== null;
    if (!ok(b?.paymentPayload) || !ok(b?.paymentRequirements)) return undefined;
    const requirements = b!.paymentRequirements as PaymentRequirements;
    return typeof requirements.network === 'string' ? { payload: b!.paymentPayload as PaymentPayload, requirements } : undefined;
  };
  app.post('/verify', async (req, res) => {
    const b = body(req.body);
    if (!b) return void res.status(400).json({ isValid: false, invalidReason: 'invalid_payload', invalidMessage: 'expected paymentPayload and paymentRequirements' });
    const scheme = schemes.get(b.requirements.network);
    if (!scheme) return void res.json({ isValid: false, invalidReason: 'unsupported_network', invalidMessage: `no scheme for ${b.requirements.network}` });
    res.json(await scheme.verify(b.payload, b.requirements));
  });
  app.post('/settle', async (req, res) => {
    const b = body(req.body);
    const network = (b?.requirements.network ?? '') as Network;
    if (!b) return void res.status(400).json({ success: false, errorReason: 'invalid_payload', transaction: '', network });
    const scheme = schemes.get(network);
    if (!scheme) return void res.json({ success: false, errorReason: 'unsupported_network', transaction: '', network });
    res.json(await scheme.settle(b.payload, b.requirements));
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function evmExact(rpcUrl: string, chainId: number, usdc: Address, settlerKey: `0x${string}`) {
  const chain = defineChain({
    id: chainId,
    name: networkOf(chainId),
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 100 }) as PublicClient;
  const settler = createWalletClient({ chain, transport: http(rpcUrl), account: privateKeyToAccount(settlerKey) });
  const tokenDomain = await readTokenDomain(publicClient, usdc);
  // payTo is only the default of exact.requirements(), which a facilitator never builds.
  const scheme = createExactEvm({ publicClient, settler, chainId, usdc, payTo: settler.account.address, tokenDomain });
  return { scheme, address: settler.account.address };
}

function evmScheme(exact: ExactEvm, signer: string): Scheme {
  return {
    kind: { x402Version: 2, scheme: 'exact', network: exact.network },
    signer,
    async verify(p, r) {
      const v = await exact.verify(p, r);
      return v.ok
        ? { isValid: true, payer: v.payer }
        : { isValid: false, invalidReason: X402_ERROR_CODE[v.reason], invalidMessage: v.detail, ...(v.payer ? { payer: v.payer } : {}) };
    },
    async settle(p, r) {
      const s = await exact.settle(p, r);
      if (s.ok) return { success: true, transaction: s.txHash, network: exact.network, payer: s.payer };
      return {
        success: false,
        errorReason: X402_ERROR_CODE[s.reason],
        errorMessage: s.detail,
        transaction: s.txHash ?? '',
        network: exact.network,
        ...(s.payer ? { payer: s.payer } : {}),
      };
    },
  };
}

function svmScheme(svm: SolanaExactFacilitator): Scheme {
  return {
    kind: { x402Version: 2, scheme: 'exact', network: svm.network, extra: { feePayer: svm.feePayer } },
    signer: svm.feePayer,
    async verify(p, r) {
      const v = await svm.verify(p, r);
      return v.ok ? { isValid: true, payer: v.payer } : { isValid: false, invalidReason: v.x402Reason, invalidMessage: v.detail };
    },
    async settle(p, r) {
      const s = await svm.settle(p, r);
      if (s.ok) return { success: true, transaction: s.signature, network: s.network, payer: s.payer };
      return { success: false, errorReason: s.x402Reason, errorMessage: s.detail, transaction: s.signature ?? '', network: svm.network };
    },
  };
}
