import { expect } from 'chai';
import { sql } from 'kysely';
import { fixedClock } from '../../src/clock.ts';
import { AccountWorker } from '../../src/accounts/worker.ts';
import { accountStreamId } from '../../domain/accounts/events.ts';
import { trafficStreamId } from '../../domain/traffic/metered.ts';
import { projections } from '../../projections/index.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { admin, registerDevice } from '../support/x402.ts';

const DAY = 86_400_000;

/**
 * Notifications fed by events (low traffic, traffic exhausted, expiring slots, port offline/online), the
 * holder's read/read-all/delete as events on the account stream, and every account read model rebuilt
 * from $all equal to what the live projector built.
 */
describe('account notifications and the account read models rebuilt', function () {
  this.timeout(120_000);
  const clock = fixedClock('2026-11-20T10:00:00.000Z');
  let service: Awaited<ReturnType<typeof startTestService>>;
  let key: Record<string, string>;
  let accountId: string;
  let url: string;

  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, clock, { WORKER_INTERVAL_MS: '3600000' });
    url = service.url;
  });
  after(async () => service?.stop());

  /** What the gateway's meter appends for an account port after carrying `bytes`. */
  const meter = async (portId: string, bytes: number) => {
    const to = clock.now().toISOString();
    const r = await service.infra.store.append(trafficStreamId('aport', portId), [{
      type: 'TrafficMetered', data: { accountKind: 'aport', accountId: portId, bytesUp: '0', bytesDown: String(bytes), connections: 1, from: to, to, gateway: 'test' },
      metadata: { correlationId: 'test', causationId: null, actor: 'gateway', occurredAt: to },
    }], { expectedRevision: 'any' });
    await service.infra.projector.waitFor(r.position, undefined, 30_000);
  };
  const list = async (query = '') => (await api(url, 'GET', `/v1/account/notifications${query}`, undefined, key)).body;

  it('raises notifications from events, and reading or deleting them are account events', async () => {
    const dev = await registerDevice(service, 'DE', { slots: 4, tiers: ['shared'], carrier: { name: 'Vodafone D2 GmbH', brand: 'Vodafone' }, city: 'Berlin' });
    expect((await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.0.9' }, admin)).status).to.be.lessThan(300);
    const reg = await api(url, 'POST', '/v1/auth/register', { email: 'notes@example.com', password: 'a long password' });
    key = { 'x-api-key': reg.body.apiKey.key };
    accountId = reg.body.user._id;
    await api(url, 'POST', `/v1/admin/accounts/${accountId}/credits`, { amount: 50, reason: 'test' }, admin);
    expect((await api(url, 'POST', '/v1/billing/purchase-ports', { quantity: 1 }, key)).status).to.equal(201);
    expect((await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 0.001 }, key)).status).to.equal(201); // 1,000,000 bytes
    const port = (await api(url, 'POST', '/v1/ports', { countryId: 'DE', expiresAt: 31 * 86400 }, key)).body;
    expect(port.id, JSON.stringify(port)).to.be.a('string');
    expect(await list()).to.deep.include({ data: [], total: 0, unread: 0 });

    // low traffic once (below 10 % left), not again while it stays low; then out of traffic
    await meter(port.id, 850_000);
    expect((await list()).total).to.equal(0);
    await meter(port.id, 60_000);
    await meter(port.id, 10_000);
    let page = await list();
    expect(page.data.map((n: any) => n.kind)).to.deep.equal(['low_traffic']);
    expect(page.data[0]).to.include({ type: 'warning', category: 'billing', isRead: false, userId: accountId });
    await meter(port.id, 80_000);
    page = await list();
    expect(page.data.map((n: any) => n.kind)).to.deep.equal(['traffic_exhausted', 'low_traffic']);
    // buying traffic re-arms the warning
    await api(url, 'POST', '/v1/billing/purchase-traffic', { quantityGB: 0.001 }, key);
    await meter(port.id, 950_000);
    expect((await list()).data.map((n: any) => n.kind)).to.deep.equal(['low_traffic', 'traffic_exhausted', 'low_traffic']);

    // the port's device goes offline, then comes back (a repeated report raises nothing)
    await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: false }, admin);
    await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: false }, admin);
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
    page = await list();
    expect(page.data[0]).to.include({ kind: 'port_offline', type: 'error', category: 'port', entityType: 'Port', entityId: port.id });
    expect(page.data.filter((n: any) => n.kind === 'port_offline')).to.have.length(1);
    await api(url, 'POST', `/v1/admin/devices/${dev}/health`, { online: true, latencyMs: 40, ip: '100.64.0.9' }, admin);
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
    expect((await list()).data[0]).to.include({ kind: 'port_online', entityId: port.id });

    // the slot subscription (30 days) is warned 3 days before it lapses, once
    const worker = new AccountWorker(service.infra);
    expect((await worker.tick()).warned).to.equal(0);
    clock.advance(27.5 * DAY);
    expect((await worker.tick()).warned).to.equal(1);
    expect((await worker.tick()).warned).to.equal(0);
    page = await list();
    expect(page.data[0]).to.include({ kind: 'expiring_slots', entityType: 'Purchase' });
    expect(page).to.include({ total: 6, unread: 6 });

    // paging, unreadOnly, read one, read all, delete
    const second = await list('?limit=2&page=2');
    expect(second).to.include({ total: 6, page: 2, limit: 2, offset: 2, totalPages: 3 });
    expect(second.data.map((n: any) => n.id)).to.deep.equal(page.data.slice(2, 4).map((n: any) => n.id));
    const one = await api(url, 'PUT', `/v1/account/notifications/${page.data[1].id}/read`, undefined, key);
    expect(one.status, JSON.stringify(one.body)).to.equal(200);
    expect(one.body).to.include({ id: page.data[1].id, isRead: true });
    expect(await list('?unreadOnly=true')).to.include({ total: 5, unread: 5 });
    const all = await api(url, 'PUT', '/v1/account/notifications/read-all', undefined, key);
    expect(all.body.count).to.equal(5);
    expect(await list('?unreadOnly=true')).to.include({ total: 0, unread: 0 });
    expect((await api(url, 'DELETE', `/v1/account/notifications/${page.data[0].id}`, undefined, key)).status).to.equal(200);
    expect((await list()).total).to.equal(5);
    expect((await api(url, 'DELETE', `/v1/account/notifications/${page.data[0].id}`, undefined, key)).body.error.code).to.equal('NOTIFICATION_NOT_FOUND');
    expect((await api(url, 'PUT', '/v1/account/notifications/nope/read', undefined, key)).status).to.equal(400);
    // a deleted warning is not raised again
    expect((await worker.tick()).warned).to.equal(0);
    // another account sees none of them
    const other = await api(url, 'POST', '/v1/auth/register', { email: 'other@example.com', password: 'a long password' });
    const otherKey = { 'x-api-key': other.body.apiKey.key };
    expect((await api(url, 'PUT', `/v1/account/notifications/${page.data[1].id}/read`, undefined, otherKey)).status).to.equal(404);
    expect((await api(url, 'GET', '/v1/account/notifications', undefined, otherKey)).body.total).to.equal(0);

    // the ledger holds what the holder did
    const types: string[] = [];
    for await (const e of service.infra.store.readStream(accountStreamId(accountId))) types.push(e.type);
    expect(types.filter((t) => t.startsWith('AccountNotification') || t === 'AccountSlotsExpiring')).to.deep.equal(['AccountSlotsExpiring', 'AccountNotificationsRead', 'AccountNotificationsRead', 'AccountNotificationDeleted']);
  });

  it('rebuilds every account read model to exactly what the live projector holds', async () => {
    // more history: a rotation-settings change, a rotation, a key revoked, a port deleted by expiry
    const ports = (await api(url, 'GET', '/v1/ports', undefined, key)).body.data;
    await api(url, 'PATCH', `/v1/ports/${ports[0].id}/rotation-settings`, { enabled: true, intervalSeconds: 1800 }, key);
    const k = await api(url, 'POST', '/v1/account/api-keys', { label: 'temp', scopes: ['ports:read'] }, key);
    await api(url, 'DELETE', `/v1/account/api-keys/${k.body.id}`, undefined, key);
    // a reseller pak_ key's traffic, paid by this account (and one without a payer: not the account's)
    for (const payerAccountId of [accountId, undefined]) {
      const to = clock.now().toISOString();
      await service.infra.store.append(trafficStreamId('pak', 'k1'), [{
        type: 'TrafficMetered', data: { accountKind: 'pak', accountId: 'k1', bytesUp: '100', bytesDown: '2000', connections: 1, from: to, to, gateway: 'test', ...(payerAccountId ? { payerAccountId } : {}) },
        metadata: { correlationId: 'test', causationId: null, actor: 'gateway', occurredAt: to },
      }], { expectedRevision: 'any' });
    }
    clock.advance(4 * DAY);
    await new AccountWorker(service.infra).tick();
    const db = service.infra.database.db;
    const names = projections.filter((p) => p.name.startsWith('account')).map((p) => p.name);
    expect(names).to.include.members(['accounts', 'account-api-keys', 'account-ports', 'account-rotations', 'account-usage', 'account-notifications']);
    const tables = projections.filter((p) => names.includes(p.name)).flatMap((p) => p.tables);
    const snapshot = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => {
      const rows = (await sql`select * from ${sql.table(t)}`.execute(db)).rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      return [t, rows.sort()] as const;
    })));
    await service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 30_000);
    const live = await snapshot();
    expect(live.account_notifications!.length).to.equal(6);
    expect(live.account_rotations!.length + live.account_ports!.length).to.be.greaterThan(0);
    expect(live.account_usage_daily!.map((r) => JSON.parse(r)).filter((r) => r.kind === 'pak').map(({ subject_id, bytes }) => ({ subject_id, bytes }))).to.deep.equal([{ subject_id: accountId, bytes: '2100' }]);
    await service.infra.projector.rebuild(names);
    expect(await snapshot()).to.deep.equal(live);
  });
});
