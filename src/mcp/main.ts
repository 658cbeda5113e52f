// npm run mcp: this API as an MCP server over stdio (see the README, "MCP server"). stdout is the protocol; logs go to stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadMcpConfig } from './config.ts';
import { createMcpServer } from './server.ts';

try {
  const config = loadMcpConfig();
  const { server, tools } = createMcpServer(config);
  await server.connect(new StdioServerTransport());
  console.error(`mcp: ${tools.length} tools for ${config.PROXIES_API_URL}${config.AGENT_WALLET_KEY ? ' (wallet set: paying tools enabled)' : ' (no AGENT_WALLET_KEY: paying tools answer with an error)'}`);
} catch (error) {
  console.error(`mcp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
