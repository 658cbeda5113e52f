import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { AccountEvent, Role } from '../domain/accounts/events.ts';
import type { Projection } from './projection.ts';

/**
 * Accounts (seed 002): identity and the wallet, with the slot subscriptions and the ledger of every
 * money movement. The balance columns are the same fold as domain/accounts/state.ts.
 */
export interface AccountRow {
  account_id: string;
  email: string;
  password_hash: string | null;
  role: Role;
  is_active: boolean;
  deposited_micro: bigint | string;
  credits_micro: bigint | string;
  spent_micro: bigint | string;
  traffic_shared_bytes: bigint | string;
  traffic_private_bytes: bigint | string;
  slots_used_shared: number;
  slots_used_private: number;
  pool_password_hash: string | null;
  registered_at: Date | string;
  updated_at: Date | string;
}

export interface LedgerRow {
  account_id: string;
  entry_id: string;
  kind: 'deposit' | 'credit' | 'slots' | 'traffic';
  slot_type: string | null;
  amount_micro: bigint | string;
  quantity: string | null;
  details: Record<string, unknown>;
  at: Date | string;
}

const accountTypes = [
  'AccountRegistered', 'AccountRoleChanged', 'AccountActivationChanged', 'AccountDepositCredited', 'AccountCreditGranted',
  'AccountSlotsPurchased', 'AccountTrafficPurchased', 'AccountSlotAssigned', 'AccountSlotReleased', 'AccountPoolPasswordSet',
] as const;

export const accountsProjection: Projection = {
  name: 'accounts',
  eventTypes: accountTypes,
  tables: ['accounts', 'account_slot_lots', 'account_ledger', 'account_slot_assignments'],
  migrations: [{
    id: 'accounts/001-tables',
    async up(db) {
      await sql`
        create table accounts (
          account_id text primary key,
          email text not null unique,
          password_hash text,
          role text not null,
          is_active boolean not null default true,
          deposited_micro bigint not null default 0,
          credits_micro bigint not null default 0,
          spent_micro bigint not null default 0,
          traffic_shared_bytes bigint not null default 0,
          traffic_private_bytes bigint not null default 0,
          slots_used_shared int not null default 0,
          slots_used_private int not null default 0,
          pool_password_hash text,
          registered_at timestamptz not null,
          updated_at timestamptz not null
        )`.execute(db);
      await sql`
        create table account_slot_lots (
          purchase_id text primary key, account_id text not null, slot_type text not null,
          quantity int not null, expires_at timestamptz not null, purchased_at timestamptz not null
        )`.execute(db);
      await sql`create index account_slot_lots_account on account_slot_lots (account_id, slot_type, expires_at)`.execute(db);
      await sql`
        create table account_ledger (
          entry_id text primary key, account_id text not null, kind text not null, slot_type text,
          amount_micro bigint not null, quantity text, details jsonb not null, at timestamptz not null
        )`.execute(db);
      await sql`create index account_ledger_account on account_ledger (account_id, at)`.execute(db);
    },
  }, {
    // which port holds which account slot: the worker frees slots whose port never came (a crash in POST /v1/ports)
    id: 'accounts/002-slot-assignments',
    async up(db) {
      await sql`create table account_slot_assignments (port_id text primary key, account_id text not null, slot_type text not null, assigned_at timestamptz not null)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as RecordedEvent & AccountEvent);
  },
};

async function applyOne(trx: Db, e: RecordedEvent & AccountEvent): Promise<void> {
  const touch = (set: Record<string, unknown>, at: string) =>
    trx.updateTable('accounts').set({ ...set, updated_at: at }).where('account_id', '=', e.data.accountId).execute();
  const ledger = (kind: LedgerRow['kind'], amountMicro: string, at: string, details: Record<string, unknown>, slotType: string | null = null, quantity: string | null = null) =>
    trx.insertInto('account_ledger').values({ entry_id: e.id, account_id: e.data.accountId, kind, slot_type: slotType, amount_micro: amountMicro, quantity, details: JSON.stringify(details), at })
      .onConflict((oc) => oc.column('entry_id').doNothing()).execute();
  switch (e.type) {
    case 'AccountRegistered': {
      const d = e.data;
      await trx.insertInto('accounts').values({ account_id: d.accountId, email: d.email, password_hash: d.passwordHash, role: d.role, registered_at: d.registeredAt, updated_at: d.registeredAt }).execute();
      return;
    }
    case 'AccountRoleChanged':
      await touch({ role: e.data.role }, e.data.changedAt);
      return;
    case 'AccountActivationChanged':
      await touch({ is_active: e.data.isActive }, e.data.changedAt);
      return;
    case 'AccountDepositCredited':
      await touch({ deposited_micro: sql`deposited_micro + ${e.data.amountMicro}::bigint` }, e.data.creditedAt);
      await ledger('deposit', e.data.amountMicro, e.data.creditedAt, { network: e.data.payment.network, transaction: e.data.payment.transaction, payer: e.data.payment.payer });
      return;
    case 'AccountCreditGranted':
      await touch({ credits_micro: sql`credits_micro + ${e.data.amountMicro}::bigint` }, e.data.grantedAt);
      await ledger('credit', e.data.amountMicro, e.data.grantedAt, { reason: e.data.reason, grantedBy: e.data.grantedBy });
      return;
    case 'AccountSlotsPurchased': {
      const d = e.data;
      await touch({ spent_micro: sql`spent_micro + ${d.priceMicro}::bigint` }, d.purchasedAt);
      await trx.insertInto('account_slot_lots').values({ purchase_id: d.purchaseId, account_id: d.accountId, slot_type: d.slotType, quantity: d.quantity, expires_at: d.expiresAt, purchased_at: d.purchasedAt }).execute();
      await ledger('slots', d.priceMicro, d.purchasedAt, { purchaseId: d.purchaseId, unitPriceMicro: d.unitPriceMicro, expiresAt: d.expiresAt }, d.slotType, String(d.quantity));
      return;
    }
    case 'AccountTrafficPurchased': {
      const d = e.data;
      const column = d.slotType === 'private' ? 'traffic_private_bytes' : 'traffic_shared_bytes';
      await touch({ spent_micro: sql`spent_micro + ${d.priceMicro}::bigint`, [column]: sql`${sql.ref(column)} + ${d.bytes}::bigint` }, d.purchasedAt);
      await ledger('traffic', d.priceMicro, d.purchasedAt, { purchaseId: d.purchaseId, basePriceMicro: d.basePriceMicro, discountPercent: d.discountPercent }, d.slotType, d.bytes);
      return;
    }
    case 'AccountSlotAssigned':
    case 'AccountSlotReleased': {
      const column = e.data.slotType === 'private' ? 'slots_used_private' : 'slots_used_shared';
      const delta = e.type === 'AccountSlotAssigned' ? 1 : -1;
      await touch({ [column]: sql`${sql.ref(column)} + ${delta}` }, e.type === 'AccountSlotAssigned' ? e.data.assignedAt : e.data.releasedAt);
      if (e.type === 'AccountSlotAssigned') {
        await trx.insertInto('account_slot_assignments').values({ port_id: e.data.portId, account_id: e.data.accountId, slot_type: e.data.slotType, assigned_at: e.data.assignedAt })
          .onConflict((oc) => oc.column('port_id').doNothing()).execute();
      } else {
        await trx.deleteFrom('account_slot_assignments').where('port_id', '=', e.data.portId).execute();
      }
      return;
    }
    case 'AccountPoolPasswordSet':
      await touch({ pool_password_hash: e.data.passwordHash }, e.data.setAt);
      return;
    default:
      // API-key events belong to the account-api-keys read model.
      return;
  }
}

export const findAccount = async (db: Db, accountId: string) =>
  (await db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst()) as AccountRow | undefined;

export const findAccountByEmail = async (db: Db, email: string) =>
  (await db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst()) as AccountRow | undefined;

export const balanceOf = (a: AccountRow) => BigInt(a.deposited_micro) + BigInt(a.credits_micro) - BigInt(a.spent_micro);

/** Slots of unexpired subscriptions per type, and the latest expiry. */
export async function slotTotals(db: Db, accountId: string, now: Date) {
  const rows = await db.selectFrom('account_slot_lots')
    .select(['slot_type', sql<number>`sum(quantity)::int`.as('total'), sql<Date>`max(expires_at)`.as('expires_at')])
    .where('account_id', '=', accountId).where('expires_at', '>', now).groupBy('slot_type').execute();
  const of = (t: string) => rows.find((r) => r.slot_type === t);
  return {
    shared: { total: of('shared')?.total ?? 0, expiresAt: of('shared')?.expires_at ?? null },
    private: { total: of('private')?.total ?? 0, expiresAt: of('private')?.expires_at ?? null },
  };
}

export async function ledgerOf(db: Db, accountId: string, { limit, offset, kind }: { limit: number; offset: number; kind?: LedgerRow['kind'][] }) {
  let q = db.selectFrom('account_ledger').where('account_id', '=', accountId);
  if (kind) q = q.where('kind', 'in', kind);
  const [rows, total] = await Promise.all([
    q.selectAll().orderBy('at', 'desc').orderBy('entry_id', 'desc').limit(limit).offset(offset).execute() as Promise<LedgerRow[]>,
    q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: total.n };
}

/** Account slots held longer than `before` by a port that does not exist or is deleted (an interrupted create or delete). */
export const strandedSlotAssignments = async (db: Db, before: Date) =>
  db.selectFrom('account_slot_assignments as a').leftJoin('account_ports as p', 'p.port_id', 'a.port_id').select(['a.account_id', 'a.port_id'])
    .where('a.assigned_at', '<', before).where((eb) => eb.or([eb('p.port_id', 'is', null), eb('p.status', '=', 'deleted')])).limit(200).execute() as Promise<Array<{ account_id: string; port_id: string }>>;
