import { expect } from 'chai';
import { GATEWAY_ERRORS, GATEWAY_ERROR_CODES } from '../../domain/gateway/errors.ts';
import { api } from '../support/service.ts';
import { registerDevice, startPaidService } from '../support/x402.ts';

describe('discovery for agents, generated from live config and data', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let url: string;
  const get = (path: string) => api(url, 'GET', path);

  before(async () => {
    world = await startPaidService({ PRICE_SHARED_PER_GB: '5', GATEWAY_PUBLIC_HOST: 'gw.example.test' });
    url = world.service.url;
    await registerDevice(world.service, 'DE', { carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' } });
  });
  after(async () => world?.stop());

  it('/.well-known/x402.json links every discovery document, and each answers', async () => {
    const wellKnown = (await get('/.well-known/x402.json')).body;
    expect(Object.keys(wellKnown.links)).to.include.members(['openapi', 'swagger', 'llms', 'skill', 'manifest', 'agentCard', 'erc8004', 'resources', 'x402']);
    for (const link of Object.values(wellKnown.links) as string[]) {
      expect(link.startsWith(url), link).to.equal(true);
      expect((await fetch(link)).status, link).to.equal(200);
    }
  });

  it('/docs-manifest.json carries prices from config, countries from the read model and every gateway error code', async () => {
    const m = (await get('/docs-manifest.json')).body;
    expect(m.x402.pricing).to.include({ shared: '5.00', private: '8.00', currency: 'USDC', durationFree: true });
    expect(m.x402.networks.map((n: any) => n.payTo)).to.deep.equal([world.chains.base.recipient, world.chains.solana.recipient]);
    expect(m.countries).to.deep.equal([{ code: 'DE', name: 'Germany', availableDevices: 1, tiers: ['shared', 'private'] }]);
    expect(m.pool_gateway).to.include({ host: 'gw.example.test', error_format: 'CODE: message (req: <id>)' });
    expect(m.pool_gateway.error_codes.map((e: any) => e.code)).to.deep.equal(GATEWAY_ERROR_CODES);
    for (const e of m.pool_gateway.error_codes) {
      expect(e.status).to.equal(GATEWAY_ERRORS[e.code as keyof typeof GATEWAY_ERRORS].httpStatus);
      expect(e.meaning).to.be.a('string').and.not.equal('');
      expect(e.action).to.be.a('string').and.not.equal('');
    }
    expect(m.endpoints.some((e: any) => e.method === 'GET' && e.path === '/v1/x402/proxy')).to.equal(true);
    expect(m.x402.paidResources.map((r: any) => `${r.method} ${r.path}`)).to.include.members(['GET /v1/x402/proxy', 'POST /v1/x402/proxy', 'POST /v1/x402/sessions/:id/extend']);
    expect(m.mcp.tools.map((t: any) => t.name)).to.include('x402_get_proxy');

    await registerDevice(world.service, 'PL', { carrier: { name: 'Orange Polska', brand: 'Orange' } });
    const after = (await get('/docs-manifest.json')).body;
    expect(after.countries.map((c: any) => c.code).sort()).to.deep.equal(['DE', 'PL']);
  });

  it('/llms.txt and /skill.md render the same facts as text', async () => {
    const llms = await fetch(`${url}/llms.txt`);
    expect(llms.headers.get('content-type')).to.contain('text/plain');
    const l = await llms.text();
    expect(l).to.contain('Prices: 5.00 USDC/GB shared, 8.00 USDC/GB private').and.to.contain(`${url}/docs/api-json`).and.to.contain('- GET /v1/x402/proxy:');
    const skill = await fetch(`${url}/skill.md`);
    expect(skill.headers.get('content-type')).to.contain('text/markdown');
    const s = await skill.text();
    expect(s).to.match(/^---\nname: mobile-proxies/);
    expect(s).to.contain('| `E_SSRF_BLOCKED` | 403 | Target is private, cloud-metadata or localhost | Use a public target |');
    expect(s).to.contain('- DE Germany: 1 devices').and.to.contain('Host gw.example.test');
  });

  it('the A2A agent card and the ERC-8004 registration name the endpoints and the wallets from config', async () => {
    const card = (await get('/.well-known/agent-card.json')).body;
    expect(card).to.include({ protocolVersion: '0.3.0', url, documentationUrl: `${url}/docs/api-json` });
    expect(card.skills.map((s: any) => s.id)).to.include('buy-mobile-proxy');
    const reg = (await get('/.well-known/erc8004-registration.json')).body;
    expect(reg.type).to.equal('https://eips.ethereum.org/EIPS/eip-8004#registration-v1');
    const wallets = reg.endpoints.filter((e: any) => e.name === 'agentWallet').map((e: any) => e.endpoint);
    expect(wallets).to.deep.equal([`${world.chains.base.caip2}:${world.chains.base.recipient}`, `${world.chains.solana.caip2}:${world.chains.solana.recipient}`]);
    expect(reg.endpoints.find((e: any) => e.name === 'A2A').endpoint).to.equal(`${url}/.well-known/agent-card.json`);
  });

  it('/discovery/resources lists each paid route with accepts and the bazaar schemas, paged', async () => {
    const r = (await get('/discovery/resources?limit=100')).body;
    expect(r.x402Version).to.equal(2);
    const proxy = r.items.find((i: any) => i.resource === `${url}/v1/x402/proxy` && i.metadata.method === 'GET');
    expect(proxy.accepts.find((a: any) => a.network === world.chains.base.caip2)).to.include({ amount: '5000000', payTo: world.chains.base.recipient });
    expect(proxy.metadata.bazaar.schema.properties.input.properties.queryParams.properties).to.have.property('country');
    expect(r.pagination.total).to.equal(r.items.length);
    const page = (await get('/discovery/resources?limit=1&offset=1')).body;
    expect(page.items).to.deep.equal([r.items[1]]);
    expect((await get('/discovery/resources?limit=0')).body.error.code).to.equal('VALIDATION_ERROR');
  });
});
