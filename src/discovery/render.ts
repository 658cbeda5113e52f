import type { PaymentProcessor } from '../../adapters/payments/port.ts';
import { findRouteDoc } from '../http/openapi/registry.ts';
import { discoveryOf } from '../http/x402-wire.ts';
import { paidRoutes, type Manifest } from './manifest.ts';

/** Text and JSON renderings of the manifest: nothing here is typed by hand that the manifest already knows. */

export function llmsTxt(m: Manifest): string {
  const byTag = new Map<string, Manifest['endpoints']>();
  for (const e of m.endpoints) byTag.set(e.tag, [...(byTag.get(e.tag) ?? []), e]);
  return [
    `# ${m.name}`, '', `> ${m.description}`, '',
    `Prices: ${m.x402.pricing.shared} USDC/GB shared, ${m.x402.pricing.private} USDC/GB private; duration free (${m.x402.pricing.minDurationSeconds / 3600} h to ${m.x402.pricing.maxDurationSeconds / 86400} days); minimum ${m.x402.pricing.minTrafficGB} GB.`,
    `Pay with: ${m.x402.networks.map((n) => `USDC on ${n.network} (${n.caip2})`).join(', ') || 'payments are not enabled on this deployment'}.`,
    `Countries with stock now: ${m.countries.map((c) => c.code).join(', ') || 'none'}.`, '',
    '## Docs', '',
    `- [OpenAPI 3.1](${m.links.openapi}): every route, request and response schema`,
    `- [Swagger UI](${m.links.swagger})`, `- [Skill](${m.links.skill}): how to buy and use a proxy, step by step`,
    `- [Manifest](${m.links.manifest}): machine-readable truth (prices, countries, gateway grammar, error codes)`,
    `- [x402 discovery](${m.links.x402}) and [resources](${m.links.resources})`, `- [A2A agent card](${m.links.agentCard}), [ERC-8004 registration](${m.links.erc8004})`, '',
    ...[...byTag].flatMap(([tag, list]) => [`## ${tag}`, '', ...list.map((e) => `- ${e.method} ${e.path}: ${e.summary}${e.auth.length ? ` (${e.auth.join(' or ')})` : ''}`), '']),
    '## MCP', '', `\`${m.mcp.command}\` (stdio) with PROXIES_API_URL=${m.base_url}; tools: ${m.mcp.tools.map((t) => t.name).join(', ')}.`, '',
  ].join('\n');
}

export function skillMd(m: Manifest): string {
  const base = m.base_url;
  const example = m.countries[0]?.code ?? 'US';
  return [
    '---', `name: mobile-proxies`, `description: Buy and use 4G/5G mobile proxies with USDC over x402 at ${base}, no account needed.`, '---', '',
    `# ${m.name}`, '', m.description, '',
    '## What it sells here', '',
    `- Dedicated mobile proxy ports: ${m.x402.pricing.shared} USDC per GB (shared device) or ${m.x402.pricing.private} USDC per GB (private device). Duration is free.`,
    `- Pool gateway access (every country of the modem pool): see ${base}/v1/x402/pool/pricing.`,
    `- Networks: ${m.x402.networks.map((n) => `${n.network} (${n.caip2}, USDC ${n.asset}, pay to ${n.payTo})`).join('; ') || 'none configured'}.`, '',
    '## Countries with stock now', '', ...(m.countries.length ? m.countries.map((c) => `- ${c.code} ${c.name}: ${c.availableDevices} devices (${c.tiers.join(', ')})`) : ['- none right now']), '',
    '## Buy a proxy', '',
    '```bash', `curl -i "${base}/v1/x402/proxy?country=${example}&traffic=1"          # 402: price and x402 requirements`,
    `# pay: send the USDC, then repeat with the transaction hash (or an x402 payload from @x402/fetch)`,
    `curl "${base}/v1/x402/proxy?country=${example}&traffic=1" -H "Payment-Signature: 0xTX_HASH"`, '```', '',
    'The answer has the credentials (shown once), `sessionToken` (x402s_…) for `/v1/x402/manage/*` and `rotationUrl`.', '',
    '```ts', "import { wrapFetchWithPayment } from '@x402/fetch';", "const pay = wrapFetchWithPayment(fetch, x402client);  // an @x402/core client with ExactEvmScheme(account)",
    `const proxy = await (await pay('${base}/v1/x402/proxy?country=${example}&traffic=1')).json();`, '```', '',
    '## Use it', '', '```bash', 'curl -x "http://USERNAME:PASSWORD@HOST:HTTP_PORT" https://api.ipify.org', 'curl --socks5-hostname HOST:SOCKS_PORT --proxy-user USERNAME:PASSWORD https://api.ipify.org', '```', '',
    '## Pool gateway grammar', '', `Host ${m.pool_gateway.host}, HTTP :${m.pool_gateway.http_port}, SOCKS5 :${m.pool_gateway.socks5_port}. Username: \`${m.pool_gateway.username_grammar}\``,
    `Pools: ${m.pool_gateway.pools.join(', ')}. Rotation: ${m.pool_gateway.rotation_modes.join(', ')} (default ${m.pool_gateway.default_rotation}). TTL at most ${m.pool_gateway.max_ttl_seconds} s.`, '',
    '## Gateway error codes', '', `Failures answer \`${m.pool_gateway.error_format}\`.`, '', '| Code | Status | Meaning | What to do |', '|---|---|---|---|',
    ...m.pool_gateway.error_codes.map((e) => `| \`${e.code}\` | ${e.status} | ${e.meaning} | ${e.action} |`), '',
    '## Endpoints', '', ...m.endpoints.map((e) => `- \`${e.method} ${e.path}\`: ${e.summary}`), '',
    `Full schemas: ${m.links.openapi}. Machine-readable: ${m.links.manifest}.`, '',
  ].join('\n');
}

/** A2A agent card (https://a2a-protocol.org): who we are and the skills an agent can call. */
export function agentCard(m: Manifest) {
  return {
    protocolVersion: '0.3.0',
    name: m.name,
    description: m.description,
    url: m.base_url,
    version: m.version,
    provider: { organization: m.name, url: m.base_url },
    documentationUrl: m.links.openapi,
    capabilities: { streaming: false, pushNotifications: false },
    defaultInputModes: ['application/json'],
    defaultOutputModes: ['application/json'],
    preferredTransport: 'HTTP+JSON',
    skills: [
      { id: 'buy-mobile-proxy', name: 'Buy a mobile proxy', description: `Dedicated 4G/5G proxy port, ${m.x402.pricing.shared} USDC/GB over x402 (GET ${m.base_url}/v1/x402/proxy)`, tags: ['proxy', 'mobile', 'x402', 'usdc'], examples: [`GET /v1/x402/proxy?country=${m.countries[0]?.code ?? 'US'}&traffic=1`] },
      { id: 'pool-gateway', name: 'Pool gateway access', description: 'Shared modem pool across countries with sticky sessions, bought over x402 (GET /v1/x402/pool)', tags: ['proxy', 'pool', 'x402'], examples: ['GET /v1/x402/pool?country=us&traffic=1'] },
      { id: 'manage-session', name: 'Manage a proxy session', description: 'Status, rotation, top-up and replacement of a bought proxy', tags: ['proxy', 'session'], examples: ['GET /v1/x402/sessions/{id}/status', 'GET /rotate/{token}'] },
      { id: 'list-stock', name: 'Countries, cities and carriers with stock', description: `Now: ${m.countries.map((c) => c.code).join(', ') || 'none'}`, tags: ['catalog'], examples: ['GET /v1/countries'] },
    ],
    additionalInterfaces: [{ url: m.links.openapi, transport: 'OpenAPI' }, { url: 'stdio: npm run -s mcp', transport: 'MCP' }],
  };
}

/** ERC-8004 agent registration file: name, endpoints and the payment wallets from config. */
export function erc8004Registration(m: Manifest) {
  return {
    type: 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1',
    name: m.name,
    description: m.description,
    image: null,
    endpoints: [
      { name: 'A2A', endpoint: m.links.agentCard, version: '0.3.0' },
      { name: 'OpenAPI', endpoint: m.links.openapi, version: '3.1.0' },
      { name: 'MCP', endpoint: 'stdio: npm run -s mcp', version: '2025-06-18' },
      { name: 'x402', endpoint: m.links.x402, version: '2' },
      ...m.x402.networks.map((n) => ({ name: 'agentWallet', endpoint: `${n.caip2}:${n.payTo}` })),
    ],
    registrations: [],
    supportedTrust: ['reputation'],
  };
}

/** GET /discovery/resources: the x402 bazaar list, one item per paid route, `accepts` for 1 GB at the shared price. */
export function discoveryResources(m: Manifest, payments: PaymentProcessor | null, perGbMicro: bigint, page: { limit: number; offset: number }, now: Date) {
  const items = paidRoutes().map((r) => {
    const method = r.method.toUpperCase();
    const d = discoveryOf(findRouteDoc(method, r.path), method, {});
    return {
      resource: `${m.base_url}${r.path}`,
      type: 'http',
      x402Version: 2,
      accepts: payments ? payments.requirements(perGbMicro) : [],
      lastUpdated: now.toISOString(),
      metadata: { method, description: r.summary, pricing: `per GB: ${m.x402.pricing.shared} USDC shared, ${m.x402.pricing.private} USDC private`, ...(d ? { bazaar: d.bazaar } : {}) },
    };
  });
  return { x402Version: 2, items: items.slice(page.offset, page.offset + page.limit), pagination: { limit: page.limit, offset: page.offset, total: items.length } };
}
