import { expect } from 'chai';
import { SessionWorker } from '../../src/x402/worker.ts';
import { api } from '../support/service.ts';
import { admin, decodeHeader, registerDevice, startPaidService } from '../support/x402.ts';

describe('x402 session management, rotation and expiry (real local chains)', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let url: string;
  const devices: string[] = [];
  const token = (t: string) => ({ 'x-session-token': t });
  const buy = async (country: string, traffic: string, micro: bigint) => {
    const tx = await world.chains.base.payUsdc(micro);
    const res = await api(url, 'GET', `/v1/x402/proxy?country=${country}&traffic=${traffic}&duration=3600`, undefined, { 'payment-signature': tx });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    return { ...res.body, tx };
  };
  const health = (id: string, online: boolean) => api(url, 'POST', `/v1/admin/devices/${id}/health`, { online }, admin);

  before(async () => {
    world = await startPaidService();
    url = world.service.url;
    for (let i = 0; i < 5; i++) devices.push(await registerDevice(world.service, 'PL', { carrier: { name: 'Orange Polska', brand: 'Orange' }, slots: 1 }));
  });
  after(async () => world?.stop());

  it('asks for the session token: missing → 400, unknown → 401', async () => {
    const missing = await api(url, 'GET', '/v1/x402/manage/session');
    expect(missing.status).to.equal(400);
    expect(missing.body.error.code).to.equal('SESSION_TOKEN_REQUIRED');
    for (const bad of ['nope', `x402s_${'a'.repeat(40)}`]) {
      const res = await api(url, 'GET', '/v1/x402/manage/ports', undefined, token(bad));
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('SESSION_TOKEN_INVALID');
    }
  });

  it('tops up: duration for free, traffic paid at the tier price, every proof once', async () => {
    const s = await buy('PL', '0.1', 400_000n);
    const credit0 = await api(url, 'GET', '/v1/x402/manage/session/credit', undefined, token(s.sessionToken));
    expect(credit0.body).to.include({ credit: '0.40', creditMicro: '400000', hasCredit: true });

    const calc = await api(url, 'GET', '/v1/x402/manage/session/topup/calculate?addTrafficGB=0.5&addDurationSeconds=3600', undefined, token(s.sessionToken));
    expect(calc.body).to.include({ cost: '2.00', costMicro: '2000000', paymentRequired: true, addTrafficGB: '0.5', addDurationSeconds: 3600 });

    const free = await api(url, 'POST', '/v1/x402/manage/session/topup', { addDurationSeconds: 3600 }, token(s.sessionToken));
    expect(free.status, JSON.stringify(free.body)).to.equal(200);
    expect(free.body).to.include({ cost: '0.00', addedDurationSeconds: 3600 });
    expect(new Date(free.body.expiresAt).getTime() - new Date(s.expiresAt).getTime()).to.equal(3600_000);

    const unpaid = await api(url, 'POST', '/v1/x402/manage/session/topup', { addTrafficGB: 0.5 }, token(s.sessionToken));
    expect(unpaid.status).to.equal(402);
    expect(unpaid.body.priceMicro).to.equal('2000000');
    expect(decodeHeader(unpaid.headers.get('payment-required')).accepts[0].amount).to.equal('2000000');

    const tx = await world.chains.base.payUsdc(2_000_000n);
    const paid = await api(url, 'POST', '/v1/x402/manage/session/topup', { addTrafficGB: 0.5 }, { ...token(s.sessionToken), 'payment-signature': tx });
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    expect(paid.body.payment).to.include({ transaction: tx, amount: '2.00' });
    const credit = await api(url, 'GET', '/v1/x402/manage/session/credit', undefined, token(s.sessionToken));
    expect(credit.body.traffic).to.include({ totalGB: '0.6', remainingGB: '0.6' });

    // the top-up's own proof, and the purchase's (priced the same: 0.1 GB = 0.40)
    for (const [replay, gb] of [[tx, 0.5], [s.tx, 0.1]] as const) {
      const again = await api(url, 'POST', '/v1/x402/manage/session/topup', { addTrafficGB: gb }, { ...token(s.sessionToken), 'payment-signature': replay });
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal('PAYMENT_ALREADY_USED');
    }
    // nor can a top-up proof buy a new session
    const reuse = await api(url, 'GET', '/v1/x402/proxy?country=PL&traffic=0.1', undefined, { 'payment-signature': tx });
    expect(reuse.body.error.code).to.equal('PAYMENT_ALREADY_USED');
    const session = await api(url, 'GET', '/v1/x402/manage/session', undefined, token(s.sessionToken));
    expect(session.body.payments.map((p: any) => p.kind)).to.deep.equal(['purchase', 'topup']);
    await expire(s.sessionToken);
  });

  it('replaces only an offline port, on another device, three times at most', async () => {
    const s = await buy('PL', '0.1', 400_000n);
    let portId = s.portId;
    const online = await api(url, 'POST', '/v1/x402/manage/ports/replace', {}, token(s.sessionToken));
    expect(online.status).to.equal(409);
    expect(online.body.error.code).to.equal('PORT_ONLINE');

    for (let i = 1; i <= 3; i++) {
      const status = await api(url, 'GET', `/v1/x402/manage/ports/${portId}/status`, undefined, token(s.sessionToken));
      const deviceOf = await deviceOfPort(portId);
      await health(deviceOf, false);
      expect((await api(url, 'GET', `/v1/x402/manage/ports/${portId}/status`, undefined, token(s.sessionToken))).body).to.include({ online: false, replaceable: true });
      expect(status.body.online).to.equal(true);
      const replaced = await api(url, 'POST', '/v1/x402/manage/ports/replace', { portId }, token(s.sessionToken));
      expect(replaced.status, JSON.stringify(replaced.body)).to.equal(200);
      expect(replaced.body).to.include({ replacedPortId: portId, replacementsUsed: i, replacementsRemaining: 3 - i });
      expect(replaced.body.port.password).to.have.length(24);
      expect(await deviceOfPort(replaced.body.port.portId)).to.not.equal(deviceOf);
      await health(deviceOf, true);
      portId = replaced.body.port.portId;
    }
    await health(await deviceOfPort(portId), false);
    const fourth = await api(url, 'POST', '/v1/x402/manage/ports/replace', { portId }, token(s.sessionToken));
    expect(fourth.body.error.code).to.equal('REPLACEMENT_LIMIT');
    await health(await deviceOfPort(portId), true);
    const ports = (await api(url, 'GET', '/v1/x402/manage/ports', undefined, token(s.sessionToken))).body.ports;
    expect(ports.filter((p: any) => p.status === 'active')).to.have.length(1);
    expect(ports.filter((p: any) => p.status === 'released')).to.have.length(3);
    const credit = await api(url, 'GET', '/v1/x402/manage/session/credit', undefined, token(s.sessionToken));
    expect(credit.body.traffic.totalGB).to.equal('0.1'); // traffic and duration kept
    await expire(s.sessionToken);
  });

  it('rotates by the public link at once, then with a 5-minute cooldown on shared ports', async () => {
    const s = await buy('PL', '0.1', 400_000n);
    const from = await deviceOfPort(s.portId);
    const rotated = await api(url, 'GET', `/rotate/${s.rotationToken}`); // never rotated: no cooldown to wait for
    expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200);
    expect(rotated.body).to.include({ success: true, portId: s.portId, oldDeviceId: from, method: 'device_switch' });
    expect(await deviceOfPort(s.portId)).to.not.equal(from);
    const again = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(again.status).to.equal(429);
    expect(again.body.error.code).to.equal('ROTATION_COOLDOWN');
    expect(again.body.error.details.secondsRemaining).to.equal(300);
    expect((await api(url, 'GET', '/rotate/not-a-token')).status).to.equal(404);
    const events = [];
    for await (const e of world.service.infra.store.readStream(`session-${s.sessionId}`)) events.push(e);
    const rotation = events.find((e) => e.type === 'PortRotated')!;
    expect(rotation.data).to.include({ portId: s.portId, fromDeviceId: from, toDeviceId: await deviceOfPort(s.portId) });
    await expire(s.sessionToken);
  });

  it('expires sessions as events from the worker and gives their slots back', async () => {
    const before = await freePl();
    const s = await buy('PL', '0.1', 400_000n);
    expect(await freePl()).to.equal(before - 1);
    const worker = new SessionWorker(world.service.infra);
    expect((await worker.tick()).expired).to.equal(0);
    world.clock.advance(3600_000);
    expect((await worker.tick()).expired).to.be.greaterThan(0);
    await world.service.infra.projector.waitFor(await world.service.infra.store.headPosition());
    const session = await api(url, 'GET', '/v1/x402/manage/session', undefined, token(s.sessionToken));
    expect(session.body.status).to.equal('expired');
    expect(session.body.ports[0].status).to.equal('released');
    expect(await freePl()).to.equal(before);
    const late = await api(url, 'POST', '/v1/x402/manage/session/topup', { addDurationSeconds: 3600 }, token(s.sessionToken));
    expect(late.body.error.code).to.equal('SESSION_EXPIRED');
  });

  it('rate-limits replace requests to 5 a minute per session', async () => {
    const s = await buy('PL', '0.1', 400_000n);
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await api(url, 'POST', '/v1/x402/manage/ports/replace', {}, token(s.sessionToken))).body.error.code);
    expect(codes).to.deep.equal(['PORT_ONLINE', 'PORT_ONLINE', 'PORT_ONLINE', 'PORT_ONLINE', 'PORT_ONLINE', 'RATE_LIMITED']);
    await expire(s.sessionToken);
  });

  it('keeps an agent registry by wallet', async () => {
    const wallet = world.chains.base.buyer.address;
    const created = await api(url, 'POST', '/v1/x402/agents', { wallet, name: 'scraper-7', preferences: { country: 'pl', tier: 'shared' } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body).to.include({ wallet: wallet.toLowerCase(), network: 'base', name: 'scraper-7' });
    expect(created.body.preferences).to.deep.equal({ country: 'PL', tier: 'shared' });
    expect(created.body.sessions).to.be.greaterThan(0);
    const updated = await api(url, 'POST', '/v1/x402/agents', { wallet, name: 'scraper-8' });
    expect(updated.status).to.equal(200);
    expect((await api(url, 'GET', `/v1/x402/agents/${wallet}`)).body.name).to.equal('scraper-8');
    expect((await api(url, 'GET', `/v1/x402/agents/${world.chains.solana.stranger}`)).status).to.equal(404);
    expect((await api(url, 'POST', '/v1/x402/agents', { wallet: 'nope' })).body.error.code).to.equal('VALIDATION_ERROR');
    expect((await api(url, 'POST', '/v1/x402/agents', { wallet, network: 'solana' })).body.error.code).to.equal('VALIDATION_ERROR');
  });

  it('rebuilds the fleet, session and agent read models identically from the events', async () => {
    const { infra } = world.service;
    await infra.projector.waitFor(await infra.store.headPosition());
    const tables = ['x402_sessions', 'x402_ports', 'x402_payments', 'x402_agents', 'fleet_devices', 'fleet_slots'];
    const snapshot = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await infra.database.db.selectFrom(t).selectAll().orderBy(t === 'fleet_slots' ? 'port_id' : t === 'x402_payments' ? 'claim_key' : t === 'x402_agents' ? 'wallet' : t === 'fleet_devices' ? 'device_id' : t === 'x402_ports' ? 'port_id' : 'session_id').execute()] as const)));
    const live = await snapshot();
    expect(live.x402_sessions!.length).to.be.greaterThan(3);
    await infra.projector.stop();
    await infra.projector.rebuild();
    expect(await snapshot()).to.deep.equal(live);
    await infra.projector.start();
  });

  async function deviceOfPort(portId: string): Promise<string> {
    const row = await world.service.infra.database.db.selectFrom('x402_ports').select('device_id').where('port_id', '=', portId).executeTakeFirstOrThrow();
    return row.device_id as string;
  }
  async function freePl(): Promise<number> {
    return (await api(url, 'GET', '/v1/x402/countries')).body.find((c: any) => c.code === 'PL')?.availableDevices ?? 0;
  }
  /** Ends a test's session so its device slot is free for the next test. */
  async function expire(sessionToken: string) {
    const s = (await api(url, 'GET', '/v1/x402/manage/session', undefined, token(sessionToken))).body;
    const ahead = new Date(s.expiresAt).getTime() - world.clock.now().getTime();
    if (ahead > 0) world.clock.advance(ahead);
    await new SessionWorker(world.service.infra).tick();
    await world.service.infra.projector.waitFor(await world.service.infra.store.headPosition());
  }
});
