import { z } from 'zod';

/** The MCP server is a client of this API: its own few variables (README, "MCP server"). */
const schema = z.object({
  PROXIES_API_URL: z.string().url().default('http://localhost:3000'),
  AGENT_WALLET_KEY: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a 32-byte hex private key').optional(),
  BASE_RPC_URL: z.string().url().optional(),
  /** A psx_ account key (seed 000's name; PROXIES_SX_API_KEY is accepted too) for the account, port, rotation and billing tools. */
  PROXIES_API_KEY: z.string().regex(/^psx_[A-Za-z0-9]{20,}$/, 'must be a psx_… account API key').optional(),
  /** A pp_ proxy-pool key for the proxy_pool_* tools. */
  PROXY_POOL_API_KEY: z.string().regex(/^pp_\S{8,}$/, 'must be a pp_… proxy-pool API key').optional(),
  MCP_MAX_PAYMENT_USDC: z.coerce.number().positive().default(50),
});
export type McpConfig = z.infer<typeof schema>;

export function loadMcpConfig(env: Record<string, string | undefined> = process.env): McpConfig {
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  given.PROXIES_API_KEY ??= given.PROXIES_SX_API_KEY;
  const parsed = schema.safeParse(given);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return parsed.data;
}
