import { z } from 'zod';

/** The MCP server is a client of this API: its own few variables (README, "MCP server"). */
const schema = z.object({
  PROXIES_API_URL: z.string().url().default('http://localhost:3000'),
  AGENT_WALLET_KEY: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be a 32-byte hex private key').optional(),
  BASE_RPC_URL: z.string().url().optional(),
  MCP_MAX_PAYMENT_USDC: z.coerce.number().positive().default(50),
});
export type McpConfig = z.infer<typeof schema>;

export function loadMcpConfig(env: Record<string, string | undefined> = process.env): McpConfig {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return parsed.data;
}
