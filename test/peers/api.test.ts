import { expect } from 'chai';
import { fixedClock } from '../../src/clock.ts';
import { peerDecider } from '../../domain/peers/decide.ts';
import { peerStreamId } from '../../domain/peers/events.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;
const WALLET = '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin';
const OTHER_WALLET = 'GokivDYuQXPZCWRkwMhdH2h91KpDQXBEmpgBgs55bnpH';

describe('peer API (register, refresh, status, earnings, wallet, withdraw)', function () {
  this.timeout(60_000);
  const clock = fixedClock('2026-12-01T12:00:00.000Z');
  let service: Service;
  before(async () => {
    service = await startTestService((await databaseKinds())[0]!, clock, { PEER_JWT_SECRET: 'x'.repeat(40), PEER_REGISTRATIONS_PER_MINUTE: '50' });
  });
  after(async () => service?.stop());

  const register = (body: Record<string, unknown> = { name: 'a', type: 'claude', walletAddress: WALLET }, ip = '127.0.0.1') =>
    api(service.url, 'POST', '/v1/peer/agents/register', body, { 'x-forwarded-for': ip });
  const auth = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
  /** Traffic as the relay records it (5 GB of mobile traffic = $9). */
  const serve = async (deviceId: string, bytes: bigint) => {
    const h = await handleCommand(service.infra, peerDecider, peerStreamId(deviceId), {
      type: 'RecordPeerTraffic', data: { bytesUp: 0n, bytesDown: bytes, ipType: 'mobile', rateMicroPerGB: 1_800_000n, tunnels: 1, from: clock.now(), relay: 'r1' },
    }, { actor: 'relay', correlationId: 't' });
    await service.infra.projector.waitFor(h.position, undefined, 5000);
  };

  it('registers an orphan with a 1 h JWT, a refresh token, the relay and the live rates', async () => {
    const r = await register();
    expect(r.status).to.equal(201);
    expect(r.body).to.include({ kind: 'agent', orphan: true, expiresIn: 3600, minPayoutUSDC: 5 });
    expect(r.body.token).to.equal(r.body.jwt);
    expect(r.body.deviceId).to.match(/^agent_/);
    expect(r.body.refreshToken).to.match(/^[0-9a-f]{64}$/);
    expect(r.body.earningsPerGB).to.deep.equal({ mobile: 1.8, residential: 1.2, datacenter: 0.3 });
    expect(r.body.relay).to.equal('ws://127.0.0.1:7002');
    const sdk = await register({ name: 'phone', type: 'android', sdkVersion: '1.3.1', model: 'Pixel' });
    expect(sdk.body).to.include({ kind: 'sdk', minPayoutUSDC: 10 });
    const status = await api(service.url, 'GET', `/v1/peer/agents/${r.body.deviceId}/status`, undefined, auth(r.body.jwt));
    expect(status.status).to.equal(200);
    expect(status.body).to.include({ deviceId: r.body.deviceId, online: false, walletAddress: WALLET, balanceMicro: '0' });
    // the refresh token is stored only as a hash
    const stored = JSON.stringify(await service.infra.database.db.selectFrom('es_events').select('data').execute());
    expect(stored).to.not.include(r.body.refreshToken);
  });

  it('links the peer to an account when apiKey is a live psx_ key, and refuses an unknown one', async () => {
    const account = await api(service.url, 'POST', '/v1/auth/register', { email: 'peer-owner@example.com', password: 'correct horse' });
    expect(account.status).to.equal(201);
    const linked = await register({ name: 'farm', type: 'modem-farm', apiKey: account.body.apiKey.key });
    expect(linked.status).to.equal(201);
    expect(linked.body).to.include({ orphan: false, accountId: account.body.account?.id ?? account.body.accountId ?? linked.body.accountId });
    expect(linked.body.accountId).to.be.a('string');
    const status = await api(service.url, 'GET', `/v1/peer/agents/${linked.body.deviceId}/status`, undefined, auth(linked.body.jwt));
    expect(status.body.accountId).to.equal(linked.body.accountId);
    const unknown = await register({ name: 'x', type: 'claude', apiKey: `psx_${'a'.repeat(40)}` });
    expect(unknown.status).to.equal(401);
    expect(unknown.body.error.code).to.equal('API_KEY_INVALID');
  });

  it('limits registrations to the configured number per minute per IP', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 52; i++) codes.push((await register(undefined, '10.9.9.9')).status);
    expect(codes.filter((c) => c === 201)).to.have.length(50);
    expect(codes.slice(-2)).to.deep.equal([429, 429]);
  });

  it('rotates refresh tokens on both paths; a used refresh token fails', async () => {
    const r = await register();
    const first = await api(service.url, 'POST', `/v1/peer/agents/${r.body.deviceId}/refresh`, { refreshToken: r.body.refreshToken });
    expect(first.status).to.equal(200);
    expect(first.body.refreshToken).to.not.equal(r.body.refreshToken);
    const replay = await api(service.url, 'POST', `/v1/peer/token/${r.body.deviceId}/refresh`, { refreshToken: r.body.refreshToken });
    expect(replay.status).to.equal(401);
    expect(replay.body.error.code).to.equal('REFRESH_TOKEN_USED');
    const second = await api(service.url, 'POST', `/v1/peer/token/${r.body.deviceId}/refresh`, { refreshToken: first.body.refreshToken });
    expect(second.status).to.equal(200);
    const bad = await api(service.url, 'POST', `/v1/peer/token/${r.body.deviceId}/refresh`, { refreshToken: 'f'.repeat(64) });
    expect(bad.body.error.code).to.equal('REFRESH_TOKEN_INVALID');
  });

  it('refuses a missing, foreign or expired JWT', async () => {
    const a = await register();
    const b = await register();
    const path = `/v1/peer/agents/${a.body.deviceId}/status`;
    expect((await api(service.url, 'GET', path)).body.error.code).to.equal('PEER_TOKEN_REQUIRED');
    expect((await api(service.url, 'GET', path, undefined, auth(b.body.jwt))).status).to.equal(403);
    expect((await api(service.url, 'GET', path, undefined, auth(a.body.jwt + 'x'))).body.error.code).to.equal('PEER_TOKEN_INVALID');
    clock.advance(3601_000);
    try {
      const expired = await api(service.url, 'GET', path, undefined, auth(a.body.jwt));
      expect(expired.status).to.equal(401);
      expect(expired.body.error.code).to.equal('PEER_TOKEN_EXPIRED');
    } finally {
      clock.advance(-3601_000);
    }
  });

  it('withdraws: below the minimum, inside the cooling period and a fourth in an hour are refused', async () => {
    const r = await register();
    const id = r.body.deviceId;
    let jwt: string = r.body.jwt;
    const withdraw = () => api(service.url, 'POST', `/v1/peer/agents/${id}/withdraw`, { walletAddress: OTHER_WALLET }, auth(jwt));
    await serve(id, 2_000_000_000n); // $3.60
    const low = await withdraw();
    expect(low.status).to.equal(400);
    expect(low.body.error.code).to.equal('BELOW_MINIMUM_PAYOUT');
    await serve(id, 10_000_000_000n); // +$18
    const ok = await withdraw();
    expect(ok.status).to.equal(202);
    expect(ok.body).to.include({ amountMicro: '21600000', walletAddress: WALLET, status: 'approved' }); // the body's wallet is ignored
    await serve(id, 3_000_000_000n);
    expect((await withdraw()).status).to.equal(202);
    await serve(id, 3_000_000_000n);
    expect((await withdraw()).status).to.equal(202);
    await serve(id, 3_000_000_000n);
    const fourth = await withdraw();
    expect(fourth.status).to.equal(429);
    expect(fourth.body.error.code).to.equal('WITHDRAWAL_RATE_LIMITED');
    const earnings = await api(service.url, 'GET', `/v1/peer/agents/${id}/earnings`, undefined, auth(r.body.jwt));
    expect(earnings.body.totals).to.include({ earnedMicro: String(21_600_000 + 3 * 5_400_000), balanceMicro: '5400000', pendingMicro: String(21_600_000 + 2 * 5_400_000) });
    expect(earnings.body.byDay[0]).to.include({ day: '2026-12-01', ipType: 'mobile', ratePerGB: 1.8 });
    expect(earnings.body.payouts).to.have.length(3);

    const changed = await api(service.url, 'PUT', `/v1/peer/agents/${id}/wallet`, { walletAddress: OTHER_WALLET }, auth(r.body.jwt));
    expect(changed.status).to.equal(200);
    expect(changed.body.walletAddress).to.equal(OTHER_WALLET);
    clock.advance(2 * 3600_000);
    try {
      jwt = (await api(service.url, 'POST', `/v1/peer/agents/${id}/refresh`, { refreshToken: r.body.refreshToken })).body.jwt;
      const cooling = await withdraw();
      expect(cooling.status).to.equal(403);
      expect(cooling.body.error.code).to.equal('WALLET_COOLING');
    } finally {
      clock.advance(-2 * 3600_000);
    }
  });
});
