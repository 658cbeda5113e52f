import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeviceProber } from '../../src/gateway/prober.ts';
import { startLab, type Lab, type Modem } from '../pool/helpers.ts';
import { api } from '../support/service.ts';
import { admin, startPaidService } from '../support/x402.ts';

/**
 * Issue #8 items 2 and 3 end to end on real local chains: a private port holds its whole device, and
 * rotation follows seed 002 (shared: device switch, 5 min; private: airplane mode through the device's
 * sealed resetUrl, 1 min; a fresh port rotates at once; the next probe confirms the new IP).
 */
describe('private ports and seed 002 rotation (real local chains, real modem proxy)', function () {
  this.timeout(180_000);
  let world: Awaited<ReturnType<typeof startPaidService>>;
  let lab: Lab;
  let url: string;
  let modem: Modem;
  let farm: http.Server;
  const resets: Array<{ auth: string | undefined; url: string | undefined }> = [];
  let farmAnswers = 200;
  let resetUrl: string;
  let resetTarget: Modem;

  const buy = async (query: string, micro: bigint) => {
    const tx = await world.chains.base.payUsdc(micro);
    const res = await api(url, 'GET', `/v1/x402/proxy?${query}&duration=3600`, undefined, { 'payment-signature': tx });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    return res.body;
  };
  const countries = async (tier?: string) => (await api(url, 'GET', `/v1/x402/countries${tier ? `?tier=${tier}` : ''}`)).body as Array<{ code: string; availableDevices: number }>;
  const streamOf = async (id: string) => {
    const events = [];
    for await (const e of world.service.infra.store.readStream(id)) events.push(e);
    return events;
  };
  const prober = () => new DeviceProber({ db: world.service.infra.database.db, store: world.service.infra.store, clock: world.service.infra.clock, secrets: world.service.infra.secrets }, { probeUrl: lab.origin.url, timeoutMs: 3000 });
  const settle = async () => world.service.infra.projector.waitFor(await world.service.infra.store.headPosition(), undefined, 5000);

  before(async () => {
    world = await startPaidService();
    url = world.service.url;
    lab = await startLab();
    modem = await lab.httpModem({ username: 'modem-user', password: 'modem-secret-pw', egressIp: '100.64.0.1' });
    resetTarget = modem;
    // the modem farm's IP-reset endpoint: Basic auth, and a reset gives the modem a new egress IP
    farm = http.createServer((req, res) => {
      resets.push({ auth: req.headers.authorization, url: req.url });
      if (farmAnswers === 200) resetTarget.egressIp = `100.64.9.${resets.length}`;
      res.writeHead(farmAnswers, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => farm.listen(0, '127.0.0.1', resolve));
    resetUrl = `http://farm-user:farm-secret-pw@127.0.0.1:${(farm.address() as AddressInfo).port}/api/reset?modem=7&token=farm-token-123`;
  });
  after(async () => {
    farm?.close();
    await lab?.close();
    await world?.stop();
  });

  it('registers a device with a resetUrl; its secrets are sealed in the event and never shown', async () => {
    const res = await api(url, 'POST', '/v1/admin/devices', {
      name: 'us-private-1', countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream: modem.upstream, resetUrl, slots: 2,
    }, admin);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body).to.include({ upstream: 'http://modem-user:****@127.0.0.1:' + new URL(modem.upstream).port, resetEndpoint: `${new URL(resetUrl).origin}/api/reset` });
    const [registered] = await streamOf(`device-${res.body.id}`);
    const text = JSON.stringify({ data: registered!.data, metadata: registered!.metadata });
    for (const secret of ['modem-secret-pw', 'farm-secret-pw', 'farm-token-123']) expect(text).to.not.contain(secret);
    expect((registered!.data as any).upstream).to.match(/^http:\/\/modem-user:sealed:v1:[0-9a-f]{8}:[\w-]+@127\.0\.0\.1:\d+$/);
    expect((registered!.data as any).resetUrl).to.match(/^sealed:v1:/);
    // the prober opens the sealed upstream in memory and reaches the modem with it
    const [probe] = await prober().tick();
    expect(probe).to.deep.include({ outcome: 'reported' });
    expect((probe as any).result).to.include({ online: true, ip: '100.64.0.1' });
  });

  it('a private port holds the whole device: no shared port lands on it, and both tiers stop counting it', async () => {
    await settle();
    expect((await countries('private')).find((c) => c.code === 'US')?.availableDevices).to.equal(1);
    expect((await countries('shared')).find((c) => c.code === 'US')?.availableDevices).to.equal(1);
    const bought = await buy('country=US&tier=private&traffic=0.1', 800_000n);
    expect(bought.portId).to.be.a('string');

    expect((await countries('private')).map((c) => c.code)).to.not.include('US');
    expect((await countries('shared')).map((c) => c.code)).to.not.include('US');
    expect((await countries()).map((c) => c.code)).to.not.include('US');
    const shared = await api(url, 'GET', '/v1/x402/proxy?country=US&tier=shared&traffic=0.1');
    expect(shared.status).to.equal(503);
    expect(shared.body.error.code).to.equal('NO_STOCK');
    expect(shared.body.error.details).to.include({ reason: 'full', devices: 1, full: 1, offline: 0 });
    expect(shared.body.error.message).to.match(/full/);
    world.clock.advance(1000);
  });

  it('rotates a private port by airplane mode through the resetUrl, at once, then once a minute; the next probe confirms the new IP', async () => {
    // the first modem is held by the previous test's private port: this one gets its own
    const other = await lab.httpModem({ username: 'm2', password: 'm2-secret', egressIp: '100.64.1.1' });
    resetTarget = other;
    const reg = await api(url, 'POST', '/v1/admin/devices', { name: 'us-private-2', countryCode: 'US', carrier: { name: 'T-Mobile USA', brand: 'T-Mobile' }, upstream: other.upstream, resetUrl, tiers: ['private'] }, admin);
    expect(reg.status).to.equal(201);
    const s = await buy('country=US&tier=private&traffic=0.1', 800_000n);
    const deviceId = reg.body.id;
    await prober().tick(); // the device's current IP, so the rotation can record it
    await settle();

    const canRotate = (token: string) => api(url, 'GET', `/v1/x402/manage/ports/${s.portId}/can-rotate`, undefined, { 'x-session-token': token });
    expect((await canRotate(s.sessionToken)).body).to.deep.equal({ canRotate: true, method: 'airplane_mode' });
    expect((await canRotate('x402s_' + 'a'.repeat(48))).status).to.be.oneOf([400, 401, 404]);
    const before = resets.length;
    const rotated = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200);
    expect(rotated.body).to.include({ success: true, portId: s.portId, isAirplaneMode: true, method: 'airplane_mode', rotationCount: 1 });
    expect(rotated.body.message).to.match(/airplane mode/);
    expect(resets.length).to.equal(before + 1);
    const call = resets.at(-1)!;
    expect(call.auth).to.equal(`Basic ${Buffer.from('farm-user:farm-secret-pw').toString('base64')}`);
    expect(call.url).to.equal('/api/reset?modem=7&token=farm-token-123');

    const events = await streamOf(`session-${s.sessionId}`);
    const rotation = events.find((e) => e.type === 'PortRotated')!;
    expect(rotation.data).to.include({ portId: s.portId, method: 'airplane_mode', triggerType: 'api_token', fromDeviceId: deviceId, toDeviceId: deviceId });
    expect((rotation.data as any).oldIp).to.equal(rotated.body.oldIp);
    expect(rotated.body.oldIp).to.match(/^100\.64\./);

    const again = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(again.status).to.equal(429);
    expect(again.body.error.code).to.equal('ROTATION_COOLDOWN');
    expect(again.body.error.details.secondsRemaining).to.equal(60);
    expect(resets.length).to.equal(before + 1); // the modem was not touched
    expect((await canRotate(s.sessionToken)).body).to.include({ canRotate: false, cooldownRemaining: 60, reason: 'Rate limited. Must wait 60 seconds before next rotation.' });

    await prober().tick(); // the modem came back with a new IP
    const confirmed = (await streamOf(`session-${s.sessionId}`)).find((e) => e.type === 'PortIpChanged');
    expect(confirmed?.data).to.include({ portId: s.portId, deviceId, oldIp: rotated.body.oldIp });
    expect((confirmed!.data as any).newIp).to.not.equal(rotated.body.oldIp);

    world.clock.advance(61_000);
    farmAnswers = 500;
    const failed = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(failed.status).to.equal(503);
    expect(failed.body.error.code).to.equal('RESET_FAILED');
    expect(JSON.stringify(failed.body)).to.not.contain('farm-secret-pw');
    expect((await streamOf(`session-${s.sessionId}`)).filter((e) => e.type === 'PortRotated')).to.have.length(1); // nothing recorded
    farmAnswers = 200;
    const second = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(second.status, JSON.stringify(second.body)).to.equal(200);
    expect(second.body.rotationCount).to.equal(2);
  });

  it('with one modem, a shared rotation answers that there is no other device; with two it switches at once', async () => {
    const one = await lab.httpModem({ username: 'de1', password: 'de1-secret', egressIp: '100.65.0.1' });
    const first = await api(url, 'POST', '/v1/admin/devices', { name: 'de-1', countryCode: 'DE', carrier: { name: 'Vodafone', brand: 'Vodafone' }, upstream: one.upstream, tiers: ['shared'] }, admin);
    const s = await buy('country=DE&traffic=0.1', 400_000n);
    const can = async () => (await api(url, 'GET', `/v1/x402/manage/ports/${s.portId}/can-rotate`, undefined, { 'x-session-token': s.sessionToken })).body;
    expect(await can()).to.deep.equal({ canRotate: false, method: 'device_switch', availableDevices: 0 });
    const lonely = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(lonely.status).to.equal(409);
    expect(lonely.body.error.code).to.equal('NO_OTHER_DEVICE');
    expect(lonely.body.error.message).to.match(/no other shared device/);

    const two = await lab.httpModem({ username: 'de2', password: 'de2-secret', egressIp: '100.65.0.2' });
    await api(url, 'POST', '/v1/admin/devices', { name: 'de-2', countryCode: 'DE', carrier: { name: 'Vodafone', brand: 'Vodafone' }, upstream: two.upstream, tiers: ['shared'] }, admin);
    expect(await can()).to.deep.equal({ canRotate: true, method: 'device_switch', availableDevices: 1 });
    const rotated = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(rotated.status, JSON.stringify(rotated.body)).to.equal(200);
    expect(rotated.body).to.include({ oldDeviceId: first.body.id, method: 'device_switch' });
    const again = await api(url, 'GET', `/rotate/${s.rotationToken}`);
    expect(again.status).to.equal(429);
    expect(again.body.error.details.secondsRemaining).to.equal(300);
    expect(await can()).to.include({ canRotate: false, cooldownRemaining: 300 });
  });
});
