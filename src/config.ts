import { z } from 'zod';
import { paymentEnv, PaymentConfigError, toPaymentConfig } from '../adapters/payments/config.ts';
import { peerEnv } from './peers/config.ts';

const url = (schemes: string[]) =>
  z.string().refine((v) => { try { return schemes.includes(new URL(v).protocol.replace(':', '')); } catch { return false; } }, {
    message: `must be a URL with scheme ${schemes.join(' or ')}`,
  });

const port = z.coerce.number().int().min(0).max(65535);
const usdc = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, 'must be a USDC amount like 4 or 0.25');
export const ROLES = ['api', 'projector', 'worker', 'gateway', 'relay'] as const;
export type Role = (typeof ROLES)[number];

const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  EVENTSTORE_URL: url(['esdb', 'esdb+discover', 'kurrentdb', 'kurrentdb+discover', 'kdb', 'kdb+discover']).optional(),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Wrong X-Admin-Key answers per client address per minute before it is blocked for 5 minutes (429). */
  ADMIN_AUTH_MAX_FAILURES: z.coerce.number().int().min(1).max(10_000).default(10),
  /** AES-256-GCM key sealing device secrets (64 hex digits or base64); unset = DATA_DIR/secrets.key, generated on first start. */
  SECRETS_KEY: z.string().regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/, 'must be 32 bytes as 64 hex digits or base64 (openssl rand -hex 32)').optional(),
  /** Keys being rotated out (comma-separated): values sealed under them still open until `npm run cli -- reseal`. */
  SECRETS_KEY_PREVIOUS: z.string().regex(/^\s*([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)(\s*,\s*([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?))*\s*$/, 'must be keys like SECRETS_KEY, comma-separated').optional(),
  ROLES: z
    .string()
    .default(ROLES.join(','))
    .transform((v) => v.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(ROLES)).min(1)),
  ...paymentEnv,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where customers reach the gateway (the credentials of a purchase point here). */
  GATEWAY_PUBLIC_HOST: z.string().min(1).default('127.0.0.1'),
  /** The gateway role's listeners (and, unless GATEWAY_PUBLIC_*_PORT says otherwise, the ports customers use). */
  GATEWAY_HOST: z.string().min(1).default('0.0.0.0'),
  GATEWAY_HTTP_PORT: port.default(7000),
  GATEWAY_SOCKS_PORT: port.default(7001),
  GATEWAY_HEALTH_PORT: port.default(7080),
  GATEWAY_PUBLIC_HTTP_PORT: port.optional(),
  GATEWAY_PUBLIC_SOCKS_PORT: port.optional(),
  /** Private ranges the gateway may still connect to (comma-separated CIDRs); empty in production. */
  GATEWAY_ALLOWED_PRIVATE_CIDRS: z.string().default(''),
  GATEWAY_MAX_CONNECTIONS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(100),
  GATEWAY_MAX_SESSIONS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(50),
  GATEWAY_METER_FLUSH_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** How often the gateway re-reads balances, passwords and port state for its live tunnels (changes made through this process also cut at once). */
  GATEWAY_REFRESH_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** Once one side of a tunnel has ended, it closes after this long without bytes (an upstream that ignores the half-close). */
  GATEWAY_HALF_CLOSE_GRACE_MS: z.coerce.number().int().min(100).max(30_000).default(30_000),
  /** A gateway instance that stops its heartbeat (crashed) has its connections released after this long. */
  GATEWAY_INSTANCE_LEASE_MS: z.coerce.number().int().min(300).max(60_000).default(60_000),
  /** With Redis out, the gateway serves on local state this long, then refuses new connections until it is back. */
  GATEWAY_REDIS_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(300_000),
  /** The prober fetches this through every modem; unset = no probing (health comes from operators). */
  PROBE_URL: z.string().url().optional(),
  PROBE_INTERVAL_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** Prices in USDC per GB (decimal, up to 6 places); the seeds' $4 shared and $8 private by default. */
  PRICE_SHARED_PER_GB: usdc.default('4'),
  PRICE_PRIVATE_PER_GB: usdc.default('8'),
  /** The public base URL of this API, used in x402 `resource` fields and rotation links. */
  PUBLIC_BASE_URL: z.string().url().optional(),
  /** How often the worker looks for sessions to expire (ms). */
  WORKER_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  /** Accounts (seed 002). HS256 secret for sign-in JWTs; unset = a random one per process (tokens die with it). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 86400).default(7 * 86400),
  /** Failed sign-ins per e-mail and per client address before a 15-minute block. */
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  /** Account prices in USD: monthly port slots, and the traffic volume discount as cumulativeGB:percent tiers. */
  ACCOUNT_SLOT_PRICE_SHARED: usdc.default('10'),
  ACCOUNT_SLOT_PRICE_PRIVATE: usdc.default('25'),
  ACCOUNT_SLOT_PERIOD_DAYS: z.coerce.number().int().min(1).max(366).default(30),
  ACCOUNT_VOLUME_DISCOUNTS: z.string().regex(/^(\s*\d{1,7}:\d{1,2}\s*)(,\s*\d{1,7}:\d{1,2}\s*)*$|^$/, 'must be minGB:percent pairs like 10:10,50:20').default('50:10,100:20,250:30,500:40'),
  // Proxy pool (seed 003): sources, checkers, leases, credits, notifiers.
  /** Private ranges source URLs and URL tests may still reach (comma-separated CIDRs); empty in production, 127.0.0.0/8 in tests. */
  POOL_ALLOWED_PRIVATE_CIDRS: z.string().default(''),
  POOL_SOURCE_MAX_BYTES: z.coerce.number().int().min(1024).max(100_000_000).default(10_000_000),
  POOL_SOURCE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  /** The judge checkers ask through each proxy (GET /judge of this service); unset = this process's own API. */
  POOL_JUDGE_URL: url(['http']).optional(),
  /** Checks in flight at once, and each one's network timeout. */
  POOL_CHECK_CONCURRENCY: z.coerce.number().int().min(1).max(2000).default(64),
  POOL_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** How often the checker runner looks for due proxies. */
  POOL_CHECK_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(5000),
  POOL_RECHECK_ACTIVE_SECONDS: z.coerce.number().int().min(1).max(604_800).default(900),
  POOL_RECHECK_DEAD_BASE_SECONDS: z.coerce.number().int().min(1).max(604_800).default(600),
  POOL_RECHECK_DEAD_MAX_SECONDS: z.coerce.number().int().min(1).max(2_592_000).default(86_400),
  /** Price of one pool credit in USDC (a lease costs one credit). */
  POOL_CREDIT_PRICE_USDC: usdc.default('0.01'),
  /** proxy.pool_low is sent when the active proxies fall below this. */
  POOL_LOW_THRESHOLD: z.coerce.number().int().min(0).max(10_000_000).default(10),
  POOL_WEBHOOK_URL: url(['http', 'https']).optional(),
  POOL_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  POOL_WEBHOOK_EVENTS: z.string().default('*'),
  /** smtp://user:pass@host:port (nodemailer); POOL_SMTP_TO receives the mails. */
  POOL_SMTP_URL: url(['smtp', 'smtps']).optional(),
  POOL_SMTP_FROM: z.string().default('proxy-pool@localhost'),
  POOL_SMTP_TO: z.string().optional(),
  POOL_SMTP_EVENTS: z.string().default('proxy.pool_low,credits.*'),
  /** Account ports: what /ping and /ip fetch through the port (answers the caller's IP), and the speed-test target (GET = download, POST = upload). */
  PORT_CHECK_IP_URL: z.string().url().default('https://api.ipify.org?format=json'),
  PORT_SPEEDTEST_URL: z.string().url().optional(),
  PORT_SPEEDTEST_MAX_BYTES: z.coerce.number().int().min(1000).max(1_000_000_000).default(10_000_000),
  PORT_SPEEDTEST_MAX_SECONDS: z.coerce.number().int().min(1).max(60).default(10),
  /** How long a write waits for the read models to catch up before answering anyway. */
  READ_YOUR_WRITES_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  /** The largest traffic cap a reseller may give one pak_ key, in GB. */
  RESELLER_MAX_PAK_CAP_GB: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Reseller accounts (comma-separated ids) allowed uncapped pak_ keys (partners that settle out of band). */
  RESELLER_PARTNER_ACCOUNTS: z.string().default('').transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  /** How long the gateway may reuse a pak_ lookup (ms, ≤ 30 s); changes made in this process apply at once. */
  GATEWAY_PAK_CACHE_MS: z.coerce.number().int().min(0).max(30_000).default(5000),
  /** Requests a reseller may make to /v1/reseller/* per window; over it → 429 with Retry-After. */
  RESELLER_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(600),
  RESELLER_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  ...peerEnv,
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; every bad variable is named with what is wrong with it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  try {
    toPaymentConfig(result.data); // a half-configured payment network is a configuration error too
  } catch (error) {
    if (error instanceof PaymentConfigError) throw new ConfigError(error.problems);
    throw error;
  }
  return result.data;
}
