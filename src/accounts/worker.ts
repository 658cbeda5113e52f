import { NEARING_EXPIRATION_DAYS } from '../../domain/accounts/notifications.ts';
import { slotLotsToWarn } from '../../projections/account-notifications.ts';
import { findAccountPort, portsDueForRotation, portsPastExpiry } from '../../projections/account-ports.ts';
import { strandedLoginClaims } from '../../projections/account-proxy-logins.ts';
import { strandedSlotAssignments } from '../../projections/accounts.ts';
import { slotHolders } from '../../projections/devices.ts';
import { releaseSlot } from '../x402/allocation.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { accountsContext, runAccountCommand, type AccountsContext } from './context.ts';
import { deletePort, releaseStrandedLogin } from './ports.ts';
import { rotatePort } from './rotation.ts';
import { PeriodicTask } from '../periodic.ts';

const ORIGIN = { actor: 'worker', correlationId: 'account-worker' };
/** A slot (account or device) held this long by a port that never came or is gone was left by a crash mid-command. */
const STRANDED_AFTER_MS = 5 * 60_000;

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

  async tick(): Promise<{ rotated: number; failed: number; expired: number; warned: number; healed: number }> {
    const now = this.ctx.infra.clock.now();
    const db = this.ctx.infra.database.db;
    let rotated = 0, failed = 0, expired = 0, warned = 0;
    const healed = await this.healStranded(now);
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
    return { rotated, failed, expired, warned, healed };
  }

  /**
   * POST /v1/ports takes an account slot, then a device slot, then writes the port (three streams, so not one
   * append); a crash in between strands what was taken. Freed here once older than STRANDED_AFTER_MS: account
   * slots whose port does not exist (or was deleted), device slots held for an account port that is not on them.
   * DELETE /v1/ports/:id (port deleted, then slots and login freed) and credentials changes (new login claimed, port
   * changed, old login freed) strand the same way; login claims whose port is gone or uses another login are freed too.
   */
  private async healStranded(now: Date): Promise<number> {
    const db = this.ctx.infra.database.db;
    const before = new Date(now.getTime() - STRANDED_AFTER_MS);
    let healed = 0;
    for (const s of await strandedSlotAssignments(db, before)) {
      healed += (await runAccountCommand(this.ctx, s.account_id, { type: 'ReleaseSlot', data: { portId: s.port_id } }, ORIGIN)).events.length;
    }
    for (const slot of await slotHolders(db, before)) {
      if (!String(slot.session_id).startsWith('account-')) continue; // x402 sessions: src/x402/worker.ts
      const port = await findAccountPort(db, slot.port_id as string);
      if (port && port.status === 'active' && port.device_id === slot.device_id) continue;
      await releaseSlot(this.ctx.infra, slot.device_id as string, slot.port_id as string, ORIGIN);
      healed++;
    }
    for (const c of await strandedLoginClaims(db, before)) healed += await releaseStrandedLogin(this.ctx, c.login, before, ORIGIN);
    return healed;
  }
}
