import { NEARING_EXPIRATION_DAYS } from '../../domain/accounts/notifications.ts';
import { slotLotsToWarn } from '../../projections/account-notifications.ts';
import { portsDueForRotation, portsPastExpiry } from '../../projections/account-ports.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { accountsContext, runAccountCommand, type AccountsContext } from './context.ts';
import { deletePort } from './ports.ts';
import { rotatePort } from './rotation.ts';
import { PeriodicTask } from '../periodic.ts';

const ORIGIN = { actor: 'worker', correlationId: 'account-worker' };

/**
 * The worker's account duties: automatic rotation (rotation-settings, triggerType automatic), removing
 * ports past their expiresAt (their device and account slots are freed), and warning slot subscriptions
 * about to expire (an event on the account stream, which raises the notification). `tick` is one pass, so tests
 * drive it with an injected clock.
 */
export class AccountWorker extends PeriodicTask {
  private readonly ctx: AccountsContext;

  constructor(infra: Infrastructure) {
    super(infra.logger, 'account worker');
    this.ctx = accountsContext(infra);
  }

  async tick(): Promise<{ rotated: number; failed: number; expired: number; warned: number }> {
    const now = this.ctx.infra.clock.now();
    const db = this.ctx.infra.database.db;
    let rotated = 0, failed = 0, expired = 0, warned = 0;
    for (const lot of await slotLotsToWarn(db, now, NEARING_EXPIRATION_DAYS * 86_400_000)) {
      const handled = await runAccountCommand(this.ctx, lot.account_id, { type: 'WarnSlotsExpiring', data: { purchaseId: lot.purchase_id, warnWithinDays: NEARING_EXPIRATION_DAYS } }, ORIGIN, ['account-notifications']);
      warned += handled.events.length;
    }
    for (const port of await portsPastExpiry(db, now)) {
      await deletePort(this.ctx, port, 'expired', ORIGIN);
      expired++;
    }
    for (const port of await portsDueForRotation(db, now)) {
      try {
        await rotatePort(this.ctx, port, 'automatic', ORIGIN);
        rotated++;
      } catch (err) {
        // a failed attempt without a device is in the history; others (cooldown, reset endpoint down) wait for the next pass
        failed++;
        this.ctx.infra.logger.warn({ err, portId: port.port_id }, 'automatic rotation failed');
      }
    }
    return { rotated, failed, expired, warned };
  }
}
