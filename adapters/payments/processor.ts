// The PaymentProcessor: x402 requirements per enabled network, and collect(), which turns a
// Payment-Signature / X-PAYMENT header into Collected money or a Rejected with a port code.
//
// claimKey is always `<network>-<transaction>` of the transaction that moved the money
// (lower-cased hash on Base, canonical base58 signature on Solana). An exact payload we settle is
// keyed by its settlement transaction, so presenting that transaction again as a tx-hash proof
// — or replaying the payload — yields the same key, and the claim stream refuses the second use.
import type { Network, PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { createBaseRail } from './base.ts';
import type { PaymentConfig } from './config.ts';
import { createExternalFacilitator } from './facilitator.ts';
import type { Collected, PaymentNetwork, PaymentProcessor, Rejected, RejectionCode } from './port.ts';
import { parsePaymentHeader, type X402Envelope } from './proof.ts';
import type { ExactOutcome, Rail } from './rail.ts';
import { codeForX402Reason, errorText, isReplayReason, reject } from './rejections.ts';
import { createSolanaRail } from './solana.ts';

export { paymentRequiredHeader, paymentResponseHeader, type ResourceDescription } from './headers.ts';

export interface PaymentProcessorOptions {
  /** Clock for authorization validity windows; defaults to the system clock. */
  now?: () => Date;
}

const EXACT_MESSAGE: Record<RejectionCode, string> = {
  PAYMENT_MALFORMED: 'the x402 payment payload is malformed',
  PAYMENT_NETWORK_UNSUPPORTED: 'the x402 payment is for a network this server does not accept',
  PAYMENT_NOT_FOUND: 'the settlement transaction was not found',
  PAYMENT_UNCONFIRMED: 'the settlement transaction was sent but is not confirmed yet; retry shortly, or present details.transaction as the proof',
  PAYMENT_TX_FAILED: 'the settlement transaction failed',
  PAYMENT_WRONG_TOKEN: 'the x402 payment is not in USDC',
  PAYMENT_WRONG_RECIPIENT: 'the x402 payment pays another recipient',
  PAYMENT_UNDERPAID: 'the x402 payment authorizes less than the price',
  PAYMENT_INVALID: 'the x402 payment failed verification',
  PAYMENT_SETTLEMENT_FAILED: 'the x402 payment verified but settling it on chain failed',
  PAYMENT_CHAIN_UNAVAILABLE: 'the chain or facilitator is unreachable; retry later with the same payment',
};

export async function createPaymentProcessor(config: PaymentConfig, options: PaymentProcessorOptions = {}): Promise<PaymentProcessor> {
  const nowMs = () => (options.now ? options.now().getTime() : Date.now());
  const facilitator = config.facilitatorUrl ? createExternalFacilitator(config.facilitatorUrl, { now: nowMs }) : undefined;
  const common = { tolerancePpm: config.tolerancePpm, maxTimeoutSeconds: config.maxTimeoutSeconds, ownSettlement: !facilitator };
  if (facilitator) await facilitator.refresh(); // so the first 402 already carries its Solana fee payer

  const rails: Rail[] = [];
  if (config.base) rails.push(await createBaseRail(config.base, { ...common, now: nowMs }));
  if (config.solana) {
    const externalFeePayer = (network: string) => {
      const feePayer = facilitator?.kind(network)?.extra?.['feePayer'];
      return typeof feePayer === 'string' ? feePayer : undefined;
    };
    rails.push(await createSolanaRail(config.solana, { ...common, externalFeePayer }));
  }
  const railOf = (network: PaymentNetwork) => rails.find((r) => r.info.network === network);
  let closed = false;

  async function collectExact(env: X402Envelope, amountMicro: bigint): Promise<Collected | Rejected> {
    const rail = rails.find((r) => (env.x402Version === 2 ? r.info.caip2 === env.network : r.v1Names.includes(env.network)));
    const accepted = rails.map((r) => r.info.caip2);
    if (!rail) {
      return reject('PAYMENT_NETWORK_UNSUPPORTED', `network ${env.network} is not accepted here`, { network: env.network, accepted });
    }
    const network = rail.info.network;
    if (env.scheme !== 'exact') {
      return reject('PAYMENT_INVALID', `x402 scheme "${env.scheme}" is not accepted; use "exact"`, { network, scheme: env.scheme });
    }
    // v2 states its terms; they must be ours (an overpayment is honoured as signed).
    let amount = amountMicro;
    if (env.accepted) {
      const a = env.accepted;
      const ours = rail.requirement(amountMicro);
      if (!rail.sameAddress(a.asset, ours.asset)) {
        return reject('PAYMENT_WRONG_TOKEN', EXACT_MESSAGE.PAYMENT_WRONG_TOKEN, { network, asset: a.asset, expectedAsset: ours.asset });
      }
      if (!rail.sameAddress(a.payTo, ours.payTo)) {
        return reject('PAYMENT_WRONG_RECIPIENT', EXACT_MESSAGE.PAYMENT_WRONG_RECIPIENT, { network, payTo: a.payTo, expectedPayTo: ours.payTo });
      }
      if (!/^\d{1,78}$/.test(a.amount)) return reject('PAYMENT_MALFORMED', 'accepted.amount must be an integer string', { network });
      if (BigInt(a.amount) < amountMicro) {
        return reject('PAYMENT_UNDERPAID', EXACT_MESSAGE.PAYMENT_UNDERPAID, { network, expectedMicro: amountMicro, paidMicro: BigInt(a.amount) });
      }
      amount = BigInt(a.amount);
    }
    // Verifiers compare the payload's `accepted` to the requirements, and v1 has none: both get ours.
    const requirements: PaymentRequirements = { ...rail.requirement(amount), network: rail.info.caip2 as Network };
    const payload: PaymentPayload = { x402Version: 2, accepted: requirements, payload: env.payload };
    const malformed = rail.precheck?.(payload);
    if (malformed) return finish(rail, payload, requirements, malformed, false);

    if (facilitator) {
      await facilitator.refresh();
      if (!facilitator.known()) {
        return reject('PAYMENT_CHAIN_UNAVAILABLE', EXACT_MESSAGE.PAYMENT_CHAIN_UNAVAILABLE, { network, facilitator: 'unreachable (/supported)' });
      }
      if (!facilitator.kind(rail.info.caip2) || (network === 'solana' && !requirements.extra['feePayer'])) {
        return notSettledHere(rail);
      }
      return finish(rail, payload, requirements, await facilitator.verifyAndSettle(payload, requirements), true);
    }
    if (!rail.settleExact) return notSettledHere(rail);
    return finish(rail, payload, requirements, await rail.settleExact(payload, requirements), false);
  }

  async function finish(
    rail: Rail,
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    outcome: ExactOutcome,
    external: boolean,
  ): Promise<Collected | Rejected> {
    const { network, caip2 } = rail.info;
    const required = BigInt(requirements.amount);
    // A replay or an external facilitator's word is checked against the chain like a tx-hash proof.
    const onChain = (tx: string) => rail.collectTransaction(tx, required, { minConfirmations: 1, tolerancePpm: 0, proof: 'x402_exact' });
    if (outcome.ok) {
      if (!external) {
        const tx = outcome.transaction;
        return { ok: true, network, caip2, proof: 'x402_exact', claimKey: `${network}-${tx}`, transaction: tx, payer: outcome.payer, amountMicro: outcome.amount };
      }
      const confirmed = await onChain(outcome.transaction);
      if (confirmed.ok || confirmed.code !== 'PAYMENT_NOT_FOUND') return confirmed;
      return reject('PAYMENT_UNCONFIRMED', EXACT_MESSAGE.PAYMENT_UNCONFIRMED, { network, transaction: outcome.transaction });
    }
    const details = { network, reason: outcome.reason, detail: outcome.detail, transaction: outcome.transaction, payer: outcome.payer };
    if (outcome.unreachable) return reject('PAYMENT_CHAIN_UNAVAILABLE', EXACT_MESSAGE.PAYMENT_CHAIN_UNAVAILABLE, details);
    if (isReplayReason(outcome.reason)) {
      let tx = outcome.transaction;
      try {
        tx ??= await rail.findSettlement(payload);
      } catch (err) {
        return reject('PAYMENT_CHAIN_UNAVAILABLE', EXACT_MESSAGE.PAYMENT_CHAIN_UNAVAILABLE, { ...details, error: errorText(err) });
      }
      if (tx) {
        const settled = await onChain(tx);
        if (settled.ok || settled.code === 'PAYMENT_CHAIN_UNAVAILABLE') return settled;
      }
      return reject('PAYMENT_INVALID', 'this x402 payment was already used', details);
    }
    const code = codeForX402Reason(outcome.reason, outcome.phase);
    const amounts = code === 'PAYMENT_UNDERPAID' ? { expectedMicro: required } : {};
    return reject(code, `${EXACT_MESSAGE[code]} (${outcome.reason})`, { ...details, ...amounts });
  }

  function notSettledHere(rail: Rail): Rejected {
    const what = rail.info.network === 'base' ? 'transaction hash' : 'transaction signature';
    return reject(
      'PAYMENT_NETWORK_UNSUPPORTED',
      `x402 exact payments are not settled on ${rail.label} here; send USDC to ${rail.info.recipient} and present the ${what} instead`,
      { network: rail.info.network, recipient: rail.info.recipient, asset: rail.info.asset },
    );
  }

  return {
    networks: () => rails.map((r) => ({ ...r.info })),

    requirements(amountMicro) {
      if (facilitator && !facilitator.known()) void facilitator.refresh();
      return rails.map((r) => r.requirement(amountMicro));
    },

    async collect(header, amountMicro) {
      if (closed) throw new Error('payment processor is closed');
      // The price comes from our own code: a non-positive one is a bug, not a bad payment.
      if (amountMicro <= 0n) throw new RangeError(`amountMicro must be positive, got ${amountMicro}`);
      const proof = parsePaymentHeader(header);
      switch (proof.kind) {
        case 'malformed':
          return reject('PAYMENT_MALFORMED', `malformed payment header: ${proof.reason}`);
        case 'evm_tx':
        case 'solana_sig': {
          const network: PaymentNetwork = proof.kind === 'evm_tx' ? 'base' : 'solana';
          const rail = railOf(network);
          if (!rail) {
            return reject('PAYMENT_NETWORK_UNSUPPORTED', `${network} payments are not accepted here`, { network, accepted: rails.map((r) => r.info.network) });
          }
          return rail.collectTransaction(proof.kind === 'evm_tx' ? proof.hash : proof.signature, amountMicro);
        }
        case 'x402':
          return collectExact(proof.payload, amountMicro);
      }
    },

    async close() {
      closed = true; // rails hold no sockets of their own (stateless HTTP JSON-RPC)
    },
  };
}
