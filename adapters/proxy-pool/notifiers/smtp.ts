import nodemailer from 'nodemailer';
import type { Notifier, PoolNotification } from './notifier.ts';

export interface SmtpOptions { url: string; from: string; to: string; subscribesTo: readonly string[] }

/** One mail per notification through nodemailer; healthy follows the last send. */
export function smtpNotifier(opts: SmtpOptions): Notifier & { close(): void } {
  const transport = nodemailer.createTransport(opts.url);
  const state = {
    name: 'smtp', subscribesTo: opts.subscribesTo, healthy: true,
    async send(n: PoolNotification) {
      try {
        await transport.sendMail({
          from: opts.from, to: opts.to, subject: `[proxy-pool] ${n.event}`,
          text: `${n.event} at ${n.occurred_at}\n\n${JSON.stringify(n.data, null, 2)}\n`,
        });
        state.healthy = true;
      } catch (e) {
        state.healthy = false;
        throw e;
      }
    },
    close() { transport.close(); },
  };
  return state;
}
