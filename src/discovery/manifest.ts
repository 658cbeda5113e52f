import { countryName } from '../../domain/fleet/countries.ts';
import { GATEWAY_ERRORS, GATEWAY_ERROR_CODES, type GatewayErrorCode } from '../../domain/gateway/errors.ts';
import { DEFAULT_MAX_TTL_SECONDS, DEFAULT_ROTATION, POOLS, ROTATION_MODES } from '../../domain/gateway/username.ts';
import { formatGb, formatUsdc } from '../../domain/pricing/pricing.ts';
import { countryAvailability } from '../../projections/devices.ts';
import { documentedRoutes, type RouteDoc } from '../http/openapi/registry.ts';
import { gatewayAddress } from '../http/x402-views.ts';
import { mcpToolCatalog } from '../mcp/server.ts';
import { VERSION } from '../version.ts';
import type { X402Context } from '../x402/context.ts';

/**
 * The machine-readable truth about this deployment (/docs-manifest.json), built on each request from config
 * (prices, networks, wallets, gateway address), the read models (countries with stock) and the OpenAPI registry
 * (endpoints). /llms.txt, /skill.md, the agent card and the ERC-8004 file are renderings of it.
 */

/** The seed's "Meaning" and "What to do" columns; typed by code so a new gateway error cannot go undocumented. */
const GATEWAY_ERROR_HELP: Record<GatewayErrorCode, { meaning: string; action: string }> = {
  E_AUTH_REQUIRED: { meaning: 'No Proxy-Authorization header', action: 'Add credentials' },
  E_AUTH_INVALID: { meaning: 'Bad credentials / no balance / disabled key', action: 'Check the key and the balance' },
  E_USERNAME_PARSE: { meaning: 'Username token format wrong', action: 'Re-read the username token table' },
  E_RATE_LIMITED_AUTH: { meaning: 'Too many failed auth attempts', action: 'Back off 30 s (escalates to 5 min)' },
  E_RATE_LIMITED_CONN: { meaning: 'Over the concurrent connection limit', action: 'Lower parallelism' },
  E_NO_STOCK_COUNTRY: { meaning: 'No online endpoints for pool+country', action: 'Try the suggested alternative or retry in 60 s' },
  E_STOCK_DEGRADED: { meaning: 'Selected endpoint became unavailable', action: 'Retry: the selector picks a different one' },
  E_SESSION_LIMIT: { meaning: 'Too many sessions for the account', action: 'Recycle -sid- tokens or wait for their TTL' },
  E_SSRF_BLOCKED: { meaning: 'Target is private, cloud-metadata or localhost', action: 'Use a public target' },
  E_CAP_EXCEEDED: { meaning: 'The pool-access key (pak_) used its traffic cap; it is suspended', action: 'Ask the reseller to top it up and re-enable it' },
  E_INTERNAL: { meaning: 'Unexpected', action: 'File a ticket with the req id' },
};

export const DISCOVERY_PATHS = {
  openapi: '/docs/api-json', swagger: '/docs/api', llms: '/llms.txt', skill: '/skill.md', manifest: '/docs-manifest.json',
  agentCard: '/.well-known/agent-card.json', erc8004: '/.well-known/erc8004-registration.json', resources: '/discovery/resources', x402: '/.well-known/x402.json',
} as const;

export const links = (base: string) => Object.fromEntries(Object.entries(DISCOVERY_PATHS).map(([k, p]) => [k, `${base}${p}`])) as Record<keyof typeof DISCOVERY_PATHS, string>;

const securityOf = (r: RouteDoc) => r.security ?? [];
/** Paid resources are the documented routes that take a payment header: the registry decides, not a list. */
export const paidRoutes = () => documentedRoutes().filter((r) => securityOf(r).includes('payment') && !r.path.startsWith('/x402/'));

export async function buildManifest(ctx: X402Context, base: string) {
  const { infra, prices } = ctx;
  const networks = ctx.payments?.networks() ?? [];
  const countries = await countryAvailability(infra.database.db);
  const gw = gatewayAddress(infra.config);
  const routes = documentedRoutes().filter((r) => !r.path.startsWith('/x402/'));
  return {
    name: 'Mobile proxies',
    description: 'Dedicated 4G/5G mobile proxy ports and a shared modem pool, bought with USDC over x402 (no account needed), plus account, reseller, peer and proxy-pool APIs.',
    version: VERSION,
    base_url: base,
    links: links(base),
    x402: {
      x402Version: 2,
      networks: networks.map((n) => ({ network: n.network, caip2: n.caip2, asset: n.asset, payTo: n.recipient })),
      pricing: {
        currency: 'USDC', unit: 'GB', durationFree: true,
        shared: formatUsdc(prices.perGbMicro.shared), private: formatUsdc(prices.perGbMicro.private),
        minTrafficGB: formatGb(prices.minTrafficBytes),
        minDurationSeconds: prices.minDurationSeconds, maxDurationSeconds: prices.maxDurationSeconds, defaultDurationSeconds: prices.defaultDurationSeconds,
      },
      paymentProofs: ['Payment-Signature: x402 v2 exact payload (base64), e.g. from @x402/fetch', 'Payment-Signature: hash of a USDC transfer already made', 'X-Payment: x402 v1 payload, or JSON {transactionHash, network, payer}'],
      paidResources: paidRoutes().map((r) => ({ method: r.method.toUpperCase(), path: r.path, summary: r.summary })),
    },
    countries: countries.map((c) => ({ code: c.code, name: countryName(c.code) ?? c.code, availableDevices: c.availableDevices, tiers: [...(c.shared ? ['shared'] : []), ...(c.private ? ['private'] : [])] })),
    pool_gateway: {
      host: gw.host, http_port: gw.httpPort, socks5_port: gw.socksPort,
      username_grammar: 'psx_<account>-<pool>-<country|any>[-city-<name>][-carrier-<name>][-isp-<name>][-asn-<n>][-sid-<8..64 [a-z0-9_]>][-rot-<mode>][-failover-<mode>][-ttl-<seconds>]',
      pools: POOLS, rotation_modes: ROTATION_MODES, default_rotation: DEFAULT_ROTATION, max_ttl_seconds: DEFAULT_MAX_TTL_SECONDS,
      error_format: 'CODE: message (req: <id>)',
      error_codes: GATEWAY_ERROR_CODES.map((code) => ({ code, status: GATEWAY_ERRORS[code].httpStatus, meaning: GATEWAY_ERROR_HELP[code].meaning, action: GATEWAY_ERROR_HELP[code].action, message: GATEWAY_ERRORS[code].message, socks5: GATEWAY_ERRORS[code].socks5 })),
    },
    api_errors: { shape: '{ "error": { "code", "message", "details" }, "requestId" }' },
    endpoints: routes.map((r) => ({ method: r.method.toUpperCase(), path: r.path, tag: r.tag, summary: r.summary, auth: securityOf(r) })),
    mcp: { transport: 'stdio', command: 'npm run -s mcp', env: { PROXIES_API_URL: base, AGENT_WALLET_KEY: 'Base private key holding USDC (tools that pay)', BASE_RPC_URL: 'for the wallet balance', PROXIES_API_KEY: 'psx_ account key (account, port, rotation and billing tools)', PROXY_POOL_API_KEY: 'pp_ key (proxy_pool_* tools)' }, tools: mcpToolCatalog() },
  };
}
export type Manifest = Awaited<ReturnType<typeof buildManifest>>;
