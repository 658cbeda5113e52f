// Payment environment: a zod shape the service config merges, and the typed PaymentConfig the
// processor is built from. A network is enabled when its RPC URL, asset and recipient are set.
import { getBase58Encoder, isAddress as isSolanaAddress } from '@solana/kit';
import { getAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { inspect } from 'node:util';

/** Holds a private key so that logging or serialising a config never prints it. */
export class Secret<T> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);
// Lower-case first so a wrong EIP-55 checksum is normalised rather than rejected.
const evmAddress = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .transform((v) => getAddress(v.toLowerCase()));
const solanaAddress = z.string().refine((v) => isSolanaAddress(v), { message: 'must be a base58 Solana address' });
const evmPrivateKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex private key')
  .transform((v) => new Secret(v as Hex));
// Messages never echo the value: these are private keys.
const solanaSecretKey = z.string().transform((v, ctx) => {
  const bytes = decodeSolanaSecret(v.trim());
  if (!bytes) {
    ctx.addIssue({ code: 'custom', message: 'must be a 64-byte secret key, base58 or a JSON array of numbers' });
    return z.NEVER;
  }
  return new Secret(bytes);
});
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Zod fields of the payment variables, for merging into the service's env schema. */
export const paymentEnv = {
  BASE_RPC_URL: httpUrl.optional(),
  BASE_CHAIN_ID: int(1, Number.MAX_SAFE_INTEGER).default(8453),
  BASE_USDC_ADDRESS: evmAddress.optional(),
  BASE_RECIPIENT: evmAddress.optional(),
  /** Blocks including the payment's own before a tx-hash proof counts. */
  BASE_MIN_CONFIRMATIONS: int(1, 10_000).default(1),
  /** Pays gas for transferWithAuthorization (x402 exact on Base). */
  X402_SETTLER_PRIVATE_KEY: evmPrivateKey.optional(),
  SOLANA_RPC_URL: httpUrl.optional(),
  SOLANA_USDC_MINT: solanaAddress.optional(),
  SOLANA_RECIPIENT: solanaAddress.optional(),
  /** Fee payer that co-signs x402 exact transactions on Solana. */
  SOLANA_FEE_PAYER_SECRET: solanaSecretKey.optional(),
  /** CAIP-2 id; by default derived from the RPC's genesis hash. */
  SOLANA_NETWORK: z
    .string()
    .regex(/^solana:[1-9A-HJ-NP-Za-km-z]{32}$/, 'must be a CAIP-2 Solana id: solana:<first 32 chars of the genesis hash>')
    .optional(),
  /** When set, x402 exact payloads are verified and settled by this facilitator instead of our own keys. */
  X402_FACILITATOR_URL: httpUrl.optional(),
  /** Accepted shortfall of tx-hash proofs, parts per million. */
  PAYMENT_TOLERANCE_PPM: int(0, 1_000_000).default(20_000),
  X402_MAX_TIMEOUT_SECONDS: int(1, 86_400).default(300),
};

export const paymentEnvSchema = z.object(paymentEnv);
export type PaymentEnv = z.infer<typeof paymentEnvSchema>;

export interface BaseConfig {
  rpcUrl: string;
  chainId: number;
  usdc: Address;
  recipient: Address;
  minConfirmations: number;
  settlerKey?: Secret<Hex>;
}

export interface SolanaConfig {
  rpcUrl: string;
  usdcMint: string;
  recipient: string;
  feePayerSecret?: Secret<Uint8Array>;
  /** CAIP-2 override; undefined = ask the RPC for its genesis hash. */
  network?: string;
}

export interface PaymentConfig {
  base?: BaseConfig;
  solana?: SolanaConfig;
  facilitatorUrl?: string;
  tolerancePpm: number;
  maxTimeoutSeconds: number;
}

export class PaymentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid payment configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PaymentConfigError';
  }
}

/** Parsed variables → PaymentConfig; a half-configured network is an error naming what is missing. */
export function toPaymentConfig(env: PaymentEnv): PaymentConfig {
  const problems: string[] = [];
  const group = <K extends keyof PaymentEnv>(keys: K[]): boolean => {
    const set = keys.filter((k) => env[k] !== undefined);
    if (set.length === 0) return false;
    for (const k of keys) {
      if (env[k] === undefined) problems.push(`${k}: required when ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set`);
    }
    return set.length === keys.length;
  };
  const baseOn = group(['BASE_RPC_URL', 'BASE_USDC_ADDRESS', 'BASE_RECIPIENT']);
  const solanaOn = group(['SOLANA_RPC_URL', 'SOLANA_USDC_MINT', 'SOLANA_RECIPIENT']);
  if (problems.length > 0) throw new PaymentConfigError(problems);

  const config: PaymentConfig = { tolerancePpm: env.PAYMENT_TOLERANCE_PPM, maxTimeoutSeconds: env.X402_MAX_TIMEOUT_SECONDS };
  if (env.X402_FACILITATOR_URL) config.facilitatorUrl = env.X402_FACILITATOR_URL;
  if (baseOn) {
    config.base = {
      rpcUrl: env.BASE_RPC_URL!,
      chainId: env.BASE_CHAIN_ID,
      usdc: env.BASE_USDC_ADDRESS!,
      recipient: env.BASE_RECIPIENT!,
      minConfirmations: env.BASE_MIN_CONFIRMATIONS,
      ...(env.X402_SETTLER_PRIVATE_KEY ? { settlerKey: env.X402_SETTLER_PRIVATE_KEY } : {}),
    };
  }
  if (solanaOn) {
    config.solana = {
      rpcUrl: env.SOLANA_RPC_URL!,
      usdcMint: env.SOLANA_USDC_MINT!,
      recipient: env.SOLANA_RECIPIENT!,
      ...(env.SOLANA_FEE_PAYER_SECRET ? { feePayerSecret: env.SOLANA_FEE_PAYER_SECRET } : {}),
      ...(env.SOLANA_NETWORK ? { network: env.SOLANA_NETWORK } : {}),
    };
  }
  return config;
}

/** Parses raw variables (empty = unset) into a PaymentConfig; every problem names its variable. */
export function loadPaymentConfig(raw: Record<string, string | undefined> = process.env): PaymentConfig {
  const present = Object.fromEntries(Object.entries(raw).filter(([k, v]) => k in paymentEnv && v !== undefined && v !== ''));
  const parsed = paymentEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new PaymentConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return toPaymentConfig(parsed.data);
}

function decodeSolanaSecret(text: string): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    if (text.startsWith('[')) {
      const arr: unknown = JSON.parse(text);
      if (!Array.isArray(arr) || !arr.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) return undefined;
      bytes = Uint8Array.from(arr as number[]);
    } else {
      bytes = Uint8Array.from(getBase58Encoder().encode(text));
    }
  } catch {
    return undefined;
  }
  return bytes.length === 64 ? bytes : undefined;
}
