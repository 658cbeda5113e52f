import { Connection, PublicKey } from '@solana/web3.js';
import { currentBlockHeight, decodeSecretKey, findPayoutTransfer, PayoutRejected, preparePayout, sendPrepared } from '../../adapters/chains/solana/payout.ts';
import { peerDecider } from '../../domain/peers/decide.ts';
import { peerStreamId } from '../../domain/peers/events.ts';
import type { PeerState } from '../../domain/peers/state.ts';
import { approvedPayouts, type PeerPayoutRow } from '../../projections/peer-payouts.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { peerCommand } from './agents.ts';
import { peerContext } from './context.ts';

export interface PayoutWorkerOptions {
  connection: Connection;
  treasurySecret: string;
  usdcMint: string;
  /** Tests: runs after the transfer was sent and before it is recorded (throw to simulate a crash there). */
  afterSend?: (payoutId: string, signature: string) => void | Promise<void>;
}

/**
 * Sends approved payouts as USDC transfers from the treasury. Per payout: look the transfer up by its
 * reference first (a previous run may have sent it and died before recording) → record PayoutSent; else,
 * if an earlier attempt's blockhash may still land, wait; else record PayoutAttempted, send, record
 * PayoutSent. A transfer the chain refuses records PayoutFailed and the money goes back on the balance.
 */
export class PayoutWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly treasury;
  private readonly mint: PublicKey;

  constructor(private readonly infra: Infrastructure, private readonly options: PayoutWorkerOptions) {
    this.treasury = decodeSecretKey(options.treasurySecret);
    this.mint = new PublicKey(options.usdcMint);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the approved payouts; serialised so two passes never overlap in this process. */
  tick(): Promise<void> {
    this.running = this.running.then(async () => {
      for (const row of await approvedPayouts(this.infra.database.db)) {
        try {
          await this.pay(row);
        } catch (err) {
          this.infra.logger.error({ err, payoutId: row.payout_id }, 'payout failed; will retry');
        }
      }
    });
    return this.running;
  }

  private async state(deviceId: string): Promise<PeerState> {
    let state = peerDecider.initialState();
    for await (const e of this.infra.store.readStream(peerStreamId(deviceId))) state = peerDecider.evolve(state, { type: e.type, data: e.data } as never);
    return state;
  }

  private async pay(row: PeerPayoutRow): Promise<void> {
    const ctx = peerContext(this.infra);
    const origin = { actor: 'payout-worker', correlationId: row.payout_id };
    const { connection } = this.options;
    const peer = await this.state(row.device_id);
    const payout = peer.status === 'registered' ? peer.payouts.find((p) => p.payoutId === row.payout_id) : undefined;
    if (!payout || payout.status !== 'approved') return; // the read model lags the stream
    const found = await findPayoutTransfer(connection, payout.payoutId);
    if (found) {
      await peerCommand(ctx, row.device_id, { type: 'RecordPayoutSent', data: { payoutId: payout.payoutId, signature: found, foundByReference: true } }, origin);
      this.infra.logger.info({ payoutId: payout.payoutId, signature: found }, 'payout found on chain by its reference; recorded');
      return;
    }
    const last = payout.attempts.at(-1);
    if (last && (await currentBlockHeight(connection)) <= last.lastValidBlockHeight) return; // that attempt may still land
    const prepared = await preparePayout({ connection, treasury: this.treasury, mint: this.mint, recipient: new PublicKey(payout.walletAddress), amountMicro: payout.amountMicro, payoutId: payout.payoutId });
    await peerCommand(ctx, row.device_id, { type: 'RecordPayoutAttempt', data: { payoutId: payout.payoutId, reference: prepared.reference.toBase58(), lastValidBlockHeight: prepared.lastValidBlockHeight } }, origin);
    let signature: string;
    try {
      signature = await sendPrepared(connection, prepared.tx);
    } catch (err) {
      const refused = err instanceof PayoutRejected || /simulation failed|insufficient|invalid account|custom program error/i.test(String((err as Error).message));
      if (!refused) throw err; // the RPC is unreachable or slow: the next pass looks it up first
      await peerCommand(ctx, row.device_id, { type: 'RecordPayoutFailed', data: { payoutId: payout.payoutId, reason: String((err as Error).message).slice(0, 300) } }, origin);
      this.infra.logger.warn({ payoutId: payout.payoutId, err }, 'payout refused by the chain; the amount is back on the balance');
      return;
    }
    await this.options.afterSend?.(payout.payoutId, signature);
    await peerCommand(ctx, row.device_id, { type: 'RecordPayoutSent', data: { payoutId: payout.payoutId, signature, foundByReference: false } }, origin);
    this.infra.logger.info({ payoutId: payout.payoutId, signature, amountMicro: payout.amountMicro.toString() }, 'payout sent');
  }
}

/** The worker role's payouts: on when PEER_TREASURY_SECRET, SOLANA_RPC_URL and SOLANA_USDC_MINT are set. */
export function startPayoutWorker(infra: Infrastructure): PayoutWorker | undefined {
  const c = infra.config;
  if (!c.PEER_TREASURY_SECRET || !c.SOLANA_RPC_URL || !c.SOLANA_USDC_MINT) return undefined;
  const worker = new PayoutWorker(infra, { connection: new Connection(c.SOLANA_RPC_URL, 'confirmed'), treasurySecret: c.PEER_TREASURY_SECRET, usdcMint: c.SOLANA_USDC_MINT });
  worker.start(c.PEER_PAYOUT_INTERVAL_MS);
  return worker;
}
