import { expect } from 'chai';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { getBase58Decoder } from '@solana/kit';
import { peerDecider } from '../../domain/peers/decide.ts';
import { peerStreamId } from '../../domain/peers/events.ts';
import { fixedClock } from '../../src/clock.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { PayoutWorker } from '../../src/peers/payout-worker.ts';
import { ADMIN_KEY, api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { startChains, type Chains } from '../support/chains.ts';

/** PEER_PAYOUT_APPROVAL=manual: withdrawals wait for an admin; only approved ones are sent (LiteSVM localnet). */
describe('peer payout approval (admin queue, USDC on the Solana localnet)', function () {
  this.timeout(120_000);
  let chains: Chains;
  let service: Awaited<ReturnType<typeof startTestService>>;
  let treasury: Keypair;
  const clock = fixedClock(new Date());
  const admin = { 'x-admin-key': ADMIN_KEY };

  before(async () => {
    chains = await startChains();
    treasury = chains.solana.localnet.createWallet({ usdc: 100_000_000n });
    service = await startTestService((await databaseKinds())[0]!, clock, {
      ...chains.env, PEER_JWT_SECRET: 'approval-'.repeat(5), PEER_TREASURY_SECRET: getBase58Decoder().decode(treasury.secretKey), PEER_PAYOUT_APPROVAL: 'manual', PEER_REGISTRATIONS_PER_MINUTE: '100',
    });
  });
  after(async () => {
    await service?.stop();
    await chains?.stop();
  });

  const usdc = (wallet: string) => chains.solana.localnet.tokenBalance(chains.solana.localnet.usdcMint, new PublicKey(wallet));
  const settle = async () => service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 5000);
  // a Connection made from the URL alone, as startPayoutWorker makes it (no WebSocket endpoint: the localnet serves none at port+1)
  const worker = () => new PayoutWorker(service.infra, { connection: new Connection(chains.solana.localnet.rpcUrl, 'confirmed'), treasurySecret: getBase58Decoder().decode(treasury.secretKey), usdcMint: chains.solana.localnet.usdcMint.toBase58() });
  const peerWithdrawing = async () => {
    const wallet = Keypair.generate().publicKey.toBase58();
    const reg = (await api(service.url, 'POST', '/v1/peer/agents/register', { name: 'earner', type: 'claude', walletAddress: wallet })).body;
    await handleCommand(service.infra, peerDecider, peerStreamId(reg.deviceId), {
      type: 'RecordPeerTraffic', data: { bytesUp: 0n, bytesDown: 3_000_000_000n, ipType: 'mobile', rateMicroPerGB: 1_800_000n, tunnels: 1, from: clock.now(), relay: 'r' },
    }, { actor: 'relay', correlationId: 't' });
    await settle();
    const w = await api(service.url, 'POST', `/v1/peer/agents/${reg.deviceId}/withdraw`, {}, { authorization: `Bearer ${reg.jwt}` });
    expect(w.status, JSON.stringify(w.body)).to.equal(202);
    expect(w.body.status).to.equal('requested');
    return { ...reg, wallet, payoutId: w.body.payoutId as string };
  };
  const earnings = async (p: { deviceId: string; jwt: string }) => {
    // the peers read model advances on its own lane: wait until it has taken every event
    const deadline = Date.now() + 10_000;
    for (;;) {
      await settle();
      const e = await api(service.url, 'GET', `/v1/peer/agents/${p.deviceId}/earnings`, undefined, { authorization: `Bearer ${p.jwt}` });
      if (e.body.totals.pendingMicro === '0' || Date.now() > deadline) return e.body;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('holds a withdrawal until an admin approves it, then the worker pays it once', async () => {
    const peer = await peerWithdrawing();
    await worker().tick();
    expect(usdc(peer.wallet)).to.equal(0n); // not approved: not sent
    expect((await api(service.url, 'GET', '/v1/admin/peer/payouts')).status).to.equal(401);
    const queue = await api(service.url, 'GET', '/v1/admin/peer/payouts', undefined, admin);
    expect(queue.status).to.equal(200);
    expect(queue.body.payouts.find((p: any) => p.payoutId === peer.payoutId)).to.include({ status: 'requested', deviceId: peer.deviceId, amountMicro: '5400000' });
    const approved = await api(service.url, 'POST', `/v1/admin/peer/payouts/${peer.payoutId}/approve`, {}, admin);
    expect(approved.status, JSON.stringify(approved.body)).to.equal(200);
    expect(approved.body.status).to.equal('approved');
    expect((await api(service.url, 'POST', `/v1/admin/peer/payouts/${peer.payoutId}/approve`, {}, admin)).status).to.equal(200); // idempotent
    await worker().tick();
    expect(usdc(peer.wallet)).to.equal(5_400_000n);
    const e = await earnings(peer);
    expect(e.payouts[0]).to.include({ status: 'sent' });
    expect(e.totals).to.include({ paidMicro: '5400000', balanceMicro: '0' });
    const after = await api(service.url, 'GET', '/v1/admin/peer/payouts', undefined, admin);
    expect(after.body.payouts.map((p: any) => p.payoutId)).to.not.include(peer.payoutId);
  });

  it('a rejected payout is never sent and its amount goes back on the balance', async () => {
    const peer = await peerWithdrawing();
    const bad = await api(service.url, 'POST', `/v1/admin/peer/payouts/${peer.payoutId}/reject`, {}, admin);
    expect(bad.status).to.equal(400);
    const rejected = await api(service.url, 'POST', `/v1/admin/peer/payouts/${peer.payoutId}/reject`, { reason: 'wallet flagged' }, admin);
    expect(rejected.status, JSON.stringify(rejected.body)).to.equal(200);
    expect(rejected.body).to.include({ status: 'rejected' });
    expect(rejected.body.reason).to.match(/wallet flagged/);
    const late = await api(service.url, 'POST', `/v1/admin/peer/payouts/${peer.payoutId}/approve`, {}, admin);
    expect(late.status).to.equal(409);
    expect(late.body.error.code).to.equal('PAYOUT_NOT_PENDING');
    await worker().tick();
    expect(usdc(peer.wallet)).to.equal(0n);
    const e = await earnings(peer);
    expect(e.totals).to.include({ balanceMicro: '5400000', pendingMicro: '0', paidMicro: '0' });
    expect((await api(service.url, 'POST', '/v1/admin/peer/payouts/00000000-0000-0000-0000-000000000000/approve', {}, admin)).status).to.equal(404);
  });
});
