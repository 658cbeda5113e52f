import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { VERSION } from '../version.ts';
import { ApiCallError, apiClient } from './api.ts';
import type { McpConfig } from './config.ts';
import { SessionCache } from './session-cache.ts';
import type { Tool } from './tool.ts';
import { accountTools } from './tools-account.ts';
import { miscTools } from './tools-misc.ts';
import { proxyPoolTools } from './tools-proxy-pool.ts';
import { x402Tools } from './tools-x402.ts';
import { agentWallet } from './wallet.ts';

/** The tools `npm run mcp` exposes, for discovery documents (building them makes no call). */
export function mcpToolCatalog(): Array<{ name: string; description: string }> {
  const api = apiClient('http://localhost');
  return [...x402Tools(api, null, new SessionCache()), ...miscTools(api, null, new SessionCache()), ...accountTools(api, undefined), ...proxyPoolTools(api, undefined)].map((t) => ({ name: t.name, description: t.description }));
}

/** This API as MCP tools. Tool failures are answers (isError) the model can read, never a crashed server. */
export function createMcpServer(config: McpConfig): { server: McpServer; tools: Tool[] } {
  const api = apiClient(config.PROXIES_API_URL);
  const wallet = agentWallet(config, api);
  const cache = new SessionCache();
  const tools = [...x402Tools(api, wallet, cache), ...miscTools(api, wallet, cache), ...accountTools(api, config.PROXIES_API_KEY), ...proxyPoolTools(api, config.PROXY_POOL_API_KEY)];
  const server = new McpServer({ name: 'proxies-marketplace', version: VERSION });
  for (const t of tools) {
    server.registerTool(t.name, { description: t.description, inputSchema: t.input }, (async (args: never) => {
      try {
        const { text, data } = await t.run(args);
        return { content: [{ type: 'text', text }], structuredContent: data };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const details = error instanceof ApiCallError ? { status: error.status, code: error.code } : {};
        return { isError: true, content: [{ type: 'text', text: `${t.name} failed: ${message}` }], structuredContent: { error: { message, ...details } } };
      }
    }) as never);
  }
  return { server, tools };
}
