import { createHmac, randomUUID } from 'node:crypto';
import type { Notifier, PoolNotification } from './notifier.ts';

export interface WebhookOptions { url: string; secret: string; subscribesTo: readonly string[]; attempts?: number; backoffMs?: number; timeoutMs?: number }

/** HMAC-SHA256 of the exact body bytes, hex: what a receiver recomputes to trust a delivery. */
export const signBody = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * POSTs the notification as JSON with X-Pool-Signature; a failed delivery (network error or non-2xx)
 * is retried with doubling back-off; the same delivery id on every attempt lets receivers dedupe.
 */
export function webhookNotifier(opts: WebhookOptions): Notifier & { deliveries: number; failures: number } {
  const attempts = opts.attempts ?? 4;
  const backoff = opts.backoffMs ?? 500;
  const state = {
    name: 'webhook', subscribesTo: opts.subscribesTo, healthy: true, deliveries: 0, failures: 0,
    async send(n: PoolNotification) {
      const body = JSON.stringify(n);
      const headers = { 'content-type': 'application/json', 'x-pool-event': n.event, 'x-pool-delivery': randomUUID(), 'x-pool-signature': signBody(opts.secret, body) };
      let last = '';
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (attempt - 1)));
        try {
          const res = await fetch(opts.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000), redirect: 'manual' });
          await res.arrayBuffer().catch(() => {});
          if (res.ok) { state.healthy = true; state.deliveries++; return; }
          last = `status ${res.status}`;
        } catch (e) {
          last = (e as Error).message;
        }
      }
      state.healthy = false;
      state.failures++;
      throw new Error(`webhook delivery failed after ${attempts} attempts: ${last}`);
    },
  };
  return state;
}
