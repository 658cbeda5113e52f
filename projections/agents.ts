import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { AgentEvent } from '../domain/agents/agents.ts';
import type { Projection } from './projection.ts';

export const agentsProjection: Projection = {
  name: 'agents',
  eventTypes: ['AgentRegistered', 'AgentProfileUpdated'],
  tables: ['x402_agents'],
  migrations: [{
    id: 'agents/001-table',
    async up(db) {
      await sql`
        create table x402_agents (
          wallet text primary key, network text not null, name text, description text,
          preferred_country text, preferred_tier text, registered_at timestamptz not null, updated_at timestamptz not null
        )`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events as unknown as AgentEvent[]) {
      const d = event.data;
      const at = event.type === 'AgentRegistered' ? event.data.registeredAt : event.data.updatedAt;
      const profile = { network: d.network, name: d.name, description: d.description, preferred_country: d.preferences.country, preferred_tier: d.preferences.tier, updated_at: at };
      await trx.insertInto('x402_agents').values({ wallet: d.wallet, ...profile, registered_at: at })
        .onConflict((oc) => oc.column('wallet').doUpdateSet(profile)).execute();
    }
  },
};

export const findAgent = async (db: Db, wallet: string) =>
  db.selectFrom('x402_agents').selectAll().where('wallet', '=', wallet).executeTakeFirst();
