import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { createApp } from '../../src/http/app.ts';
import { documentedRoutes, openApiPath, primaryRoutes, walkExpressRoutes } from '../../src/http/openapi/registry.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;

describe('OpenAPI document (every route, by construction)', function () {
  this.timeout(60_000);
  let service: Service;
  before(async () => { service = await startTestService((await databaseKinds())[0]!, fixedClock(new Date('2026-12-01T12:00:00Z'))); });
  after(async () => service?.stop());

  it('documents every route the Express app answers, and nothing it does not', async () => {
    const app = createApp(service.infra);
    const served = walkExpressRoutes(app).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    const documented = documentedRoutes().map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(served.length).to.be.greaterThan(30);
    const missing = [...new Set(served)].filter((r) => !documented.includes(r));
    expect(missing, `routes without documentation (register them with documentRoute in their router file): ${missing.join(', ')}`).to.deep.equal([]);
    const stale = documented.filter((r) => !served.includes(r));
    expect(stale, `documented routes that no router serves: ${stale.join(', ')}`).to.deep.equal([]);
  });

  it('serves the document at /docs/api-json with every operation, its responses and the security schemes', async () => {
    const res = await api(service.url, 'GET', '/docs/api-json');
    expect(res.status).to.equal(200);
    const doc = res.body;
    expect(doc.openapi).to.equal('3.1.0');
    expect(Object.keys(doc.components.securitySchemes)).to.include.members(['adminKey', 'apiKey', 'bearer', 'sessionToken', 'payment']);
    expect(doc.components.securitySchemes.adminKey).to.include({ type: 'apiKey', in: 'header', name: 'X-Admin-Key' });
    expect(doc['x-path-aliases']).to.deep.include({ alias: '/x402', target: '/v1/x402' });
    expect(doc.paths['/v1/x402/proxy'].get['x-aliases']).to.deep.equal(['/x402/proxy']);
    expect(doc.paths['/x402/proxy']).to.equal(undefined); // noted on the operation, not repeated
    for (const r of primaryRoutes()) {
      const op = doc.paths[openApiPath(r.path)]?.[r.method];
      expect(op, `${r.method} ${r.path}`).to.be.an('object');
      expect(Object.keys(op.responses), `${r.method} ${r.path}`).to.include.members(Object.keys(r.responses));
    }
    const buy = doc.paths['/v1/x402/proxy'].get;
    expect(buy.parameters.map((p: any) => p.name)).to.include.members(['country', 'traffic', 'tier']);
    expect(buy.responses['402'].content['application/json'].schema).to.be.an('object');
    expect(doc.paths['/v1/admin/devices'].post.security).to.deep.equal([{ adminKey: [] }]);
    expect(doc.paths['/v1/admin/devices/{id}'].get.parameters[0]).to.include({ name: 'id', in: 'path', required: true });
  });

  it('every documented example parses with its own schema', () => {
    const failures: string[] = [];
    let checked = 0;
    for (const r of documentedRoutes()) {
      for (const [status, res] of Object.entries(r.responses)) {
        if (!res.schema) continue;
        expect(res.example, `${r.method} ${r.path} ${status} has a schema but no example`).to.not.equal(undefined);
        const parsed = res.schema.safeParse(res.example);
        checked++;
        if (!parsed.success) failures.push(`${r.method} ${r.path} ${status}: ${parsed.error.message}`);
      }
      if (r.body && r.bodyExample !== undefined) {
        const parsed = r.body.safeParse(r.bodyExample);
        checked++;
        if (!parsed.success) failures.push(`${r.method} ${r.path} body: ${parsed.error.message}`);
      }
    }
    expect(failures).to.deep.equal([]);
    expect(checked).to.be.greaterThan(60);
  });
});
