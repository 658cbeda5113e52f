import type { RecordedEvent, Subscription } from '../../adapters/eventstore/port.ts';
import { matches, patternsOf, type Notifier, type PoolNotification } from '../../adapters/proxy-pool/notifiers/notifier.ts';
import { smtpNotifier } from '../../adapters/proxy-pool/notifiers/smtp.ts';
import { webhookNotifier } from '../../adapters/proxy-pool/notifiers/webhook.ts';
import type { Config } from '../config.ts';
import type { Infrastructure } from '../infrastructure.ts';

/** Which events become which notifications. */
const NAMES: Record<string, string> = {
  PoolLowDetected: 'proxy.pool_low',
  PoolRecovered: 'proxy.pool_recovered',
  PoolCreditsPurchased: 'credits.purchased',
  PoolCreditsGranted: 'credits.granted',
  PoolCreditDebited: 'credits.debited',
};

/** What /stats/plugins lists: the configured notifiers; health is shared through the KeyValue store. */
export function configuredNotifiers(config: Config): Array<{ name: string; subscribes_to: string[] }> {
  const out: Array<{ name: string; subscribes_to: string[] }> = [];
  if (config.POOL_WEBHOOK_URL && config.POOL_WEBHOOK_SECRET) out.push({ name: 'webhook', subscribes_to: patternsOf(config.POOL_WEBHOOK_EVENTS) });
  if (config.POOL_SMTP_URL && config.POOL_SMTP_TO) out.push({ name: 'smtp', subscribes_to: patternsOf(config.POOL_SMTP_EVENTS) });
  return out;
}

export const notifierHealthKey = (name: string) => `pp-notifier-healthy-${name}`;

export async function notifierStatus(infra: Infrastructure) {
  return Promise.all(configuredNotifiers(infra.config).map(async (n) => ({ name: n.name, healthy: (await infra.kv.get(notifierHealthKey(n.name))) !== '0', subscribes_to: n.subscribes_to })));
}

export function notifiersFromConfig(config: Config): Notifier[] {
  const out: Notifier[] = [];
  if (config.POOL_WEBHOOK_URL && config.POOL_WEBHOOK_SECRET) out.push(webhookNotifier({ url: config.POOL_WEBHOOK_URL, secret: config.POOL_WEBHOOK_SECRET, subscribesTo: patternsOf(config.POOL_WEBHOOK_EVENTS) }));
  if (config.POOL_SMTP_URL && config.POOL_SMTP_TO) out.push(smtpNotifier({ url: config.POOL_SMTP_URL, from: config.POOL_SMTP_FROM, to: config.POOL_SMTP_TO, subscribesTo: patternsOf(config.POOL_SMTP_EVENTS) }));
  return out;
}

export function notificationOf(e: RecordedEvent): PoolNotification | null {
  const event = NAMES[e.type];
  if (!event) return null;
  const data = { ...(e.data as Record<string, unknown>) };
  delete data.payment; // the notification says what happened, not the payment's internals
  return { event, occurred_at: e.metadata.occurredAt, data };
}

/**
 * Follows the event store from the head (events from before the start are not re-sent) and hands
 * each matching notification to the notifiers subscribed to it. A failed delivery is logged; it does
 * not hold back the others.
 */
export class NotificationDispatcher {
  private subscription: Subscription | undefined;
  constructor(private readonly infra: Infrastructure, readonly notifiers: readonly Notifier[]) {}

  async start() {
    if (this.notifiers.length === 0) return;
    const from = await this.infra.store.headPosition();
    this.subscription = this.infra.store.subscribeToAll({ fromPosition: from, eventTypes: Object.keys(NAMES) }, async (batch) => {
      for (const e of batch.events) {
        const n = notificationOf(e);
        if (!n) continue;
        await Promise.all(this.notifiers.filter((x) => matches(x.subscribesTo, n.event)).map(async (x) => {
          await x.send(n).catch((err) => this.infra.logger.warn({ err, notifier: x.name, event: n.event }, 'notification failed'));
          await this.infra.kv.set(notifierHealthKey(x.name), x.healthy ? '1' : '0').catch(() => {});
        }));
      }
    });
  }

  async stop() {
    await this.subscription?.stop();
    for (const n of this.notifiers) (n as { close?: () => void }).close?.();
  }
}
