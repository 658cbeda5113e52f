import type { Db } from '../../adapters/db/database.ts';
import { findAccount, slotTotals } from '../../projections/accounts.ts';

/**
 * A port is suspended (seed 002's `status: suspended`) while its account is deactivated, or while the
 * account holds more ports of a slot type than it has unexpired slots: a lapsed slot subscription stops
 * its ports at the lapse (the newest ports first), and buying slots again resumes them.
 */
export async function suspendedPortIds(db: Db, accountId: string, now: Date): Promise<Set<string>> {
  const account = await findAccount(db, accountId);
  const ports = await db.selectFrom('account_ports').select(['port_id', 'slot_type']).where('account_id', '=', accountId).where('status', '=', 'active')
    .orderBy('created_at').orderBy('port_id').execute();
  if (!account || !account.is_active) return new Set(ports.map((p) => p.port_id as string));
  const slots = await slotTotals(db, accountId, now);
  const seen = { shared: 0, private: 0 };
  const out = new Set<string>();
  for (const p of ports) {
    const t = p.slot_type as 'shared' | 'private';
    if (++seen[t] > slots[t].total) out.add(p.port_id as string);
  }
  return out;
}
