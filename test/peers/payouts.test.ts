import { expect } from 'chai';
import { Keypair } from '@solana/web3.js';
import { getBase58Decoder } from '@solana/kit';
import { peerDecider } from '../../domain/peers/decide.ts';
import { peerStreamId } from '../../domain/peers/events.ts';
import { fixedClock } from '../../src/clock.ts';
import { handleCommand } from '../../src/commands/handle.ts';
import { PayoutWorker } from '../../src/peers/payout-worker.ts';
import { findPayoutTransfer } from '../../adapters/chains/solana/payout.ts';
import { api, startTestService } from '../support/service.ts';
import { databaseKinds } from '../support/services.ts';
import { startChains, type Chains } from '../support/chains.ts';

type Service = Awaited<ReturnType<typeof startTestService>>;

/** Withdrawals paid as real SPL USDC transfers on the LiteSVM localnet, across a worker crash. */
describe('peer payouts (USDC on the Solana localnet)', function () {
  this.timeout(120_000);
  let chains: Chains;
  let service: Service;
  let treasury: Keypair;
  const clock = fixedClock(new Date());

  before(async () => {
    chains = await startChains();
    const net = chains.solana.localnet;
    treasury = net.createWallet({ usdc: 100_000_000n }); // 100 USDC
    service = await startTestService((await databaseKinds())[0]!, clock, {
      ...chains.env, PEER_JWT_SECRET: 'payouts-'.repeat(5), PEER_TREASURY_SECRET: getBase58Decoder().decode(treasury.secretKey),
    });
  });
  after(async () => {
    await service?.stop();
    await chains?.stop();
  });

  const peerWithBalance = async (bytes: bigint) => {
    const wallet = Keypair.generate().publicKey.toBase58();
    const reg = (await api(service.url, 'POST', '/v1/peer/agents/register', { name: 'earner', type: 'claude', walletAddress: wallet }, { 'x-forwarded-for': `10.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` })).body;
    const h = await handleCommand(service.infra, peerDecider, peerStreamId(reg.deviceId), {
      type: 'RecordPeerTraffic', data: { bytesUp: 0n, bytesDown: bytes, ipType: 'mobile', rateMicroPerGB: 1_800_000n, tunnels: 1, from: clock.now(), relay: 'r' },
    }, { actor: 'relay', correlationId: 't' });
    await service.infra.projector.waitFor(h.position, undefined, 5000);
    return { ...reg, wallet };
  };
  const worker = (afterSend?: (id: string, sig: string) => void) => new PayoutWorker(service.infra, {
    connection: chains.solana.localnet.connection(), treasurySecret: getBase58Decoder().decode(treasury.secretKey), usdcMint: chains.solana.localnet.usdcMint.toBase58(), ...(afterSend ? { afterSend } : {}),
  });
  const events = async (deviceId: string) => {
    const out: string[] = [];
    for await (const e of service.infra.store.readStream(peerStreamId(deviceId))) out.push(e.type);
    return out;
  };
  const settle = async () => service.infra.projector.waitFor(await service.infra.store.headPosition(), undefined, 5000);
  /**
   * The earnings answer once its newest payout has left `approved` and the peers read model (its own projection,
   * advancing on its own) no longer counts it as pending (the projector runs concurrently).
   */
  const settledEarnings = async (peer: { deviceId: string; jwt: string }) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await settle();
      const e = await api(service.url, 'GET', `/v1/peer/agents/${peer.deviceId}/earnings`, undefined, { authorization: `Bearer ${peer.jwt}` });
      if ((e.body.payouts[0]?.status !== 'approved' && e.body.totals?.pendingMicro === '0') || Date.now() > deadline) return e;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('pays a withdrawal exactly once across a worker crash between send and record', async () => {
    const peer = await peerWithBalance(3_000_000_000n); // $5.40
    const w = await api(service.url, 'POST', `/v1/peer/agents/${peer.deviceId}/withdraw`, {}, { authorization: `Bearer ${peer.jwt}` });
    expect(w.status).to.equal(202);
    const { PublicKey } = await import('@solana/web3.js');
    const owner = new PublicKey(peer.wallet);
    // the first worker sends the transfer and "crashes" before recording it
    const crashing = worker(() => { throw new Error('simulated crash after send'); });
    await crashing.tick();
    expect(chains.solana.localnet.tokenBalance(chains.solana.localnet.usdcMint, owner)).to.equal(5_400_000n);
    expect(await events(peer.deviceId)).to.not.include('PayoutSent');
    // a fresh worker finds the transfer by its reference and records it, without paying again
    await settle();
    const healed = worker();
    await healed.tick();
    await settle();
    await healed.tick(); // and a later pass has nothing left to do
    expect(chains.solana.localnet.tokenBalance(chains.solana.localnet.usdcMint, owner)).to.equal(5_400_000n);
    const types = await events(peer.deviceId);
    expect(types.filter((t) => t === 'PayoutSent')).to.have.length(1);
    expect(types.filter((t) => t === 'PayoutAttempted')).to.have.length(1);
    const earnings = await settledEarnings(peer);
    expect(earnings.body.payouts[0]).to.include({ status: 'sent', amountMicro: '5400000' });
    expect(earnings.body.payouts[0].signature).to.equal(await findPayoutTransfer(chains.solana.localnet.connection(), w.body.payoutId));
    expect(earnings.body.totals).to.include({ paidMicro: '5400000', pendingMicro: '0', balanceMicro: '0' });
  });

  it('records PayoutFailed and gives the money back when the treasury cannot pay', async () => {
    const peer = await peerWithBalance(100_000_000_000n); // $180, more than the treasury holds
    const w = await api(service.url, 'POST', `/v1/peer/agents/${peer.deviceId}/withdraw`, {}, { authorization: `Bearer ${peer.jwt}` });
    expect(w.status).to.equal(202);
    await worker().tick();
    const earnings = await settledEarnings(peer);
    expect(earnings.body.payouts[0].status).to.equal('failed');
    expect(earnings.body.payouts[0].reason).to.be.a('string');
    expect(earnings.body.totals).to.include({ balanceMicro: '180000000', pendingMicro: '0', paidMicro: '0' });
  });
});
