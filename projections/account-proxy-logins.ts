import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { LoginEvent } from '../domain/ports/decide.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

/**
 * Who holds each proxy-login claim (`proxy-login-<login>`): the account worker looks here for claims a
 * crash left behind (inside POST /v1/ports, DELETE /v1/ports/:id or a credentials change).
 */
export const accountProxyLoginsProjection: Projection = {
  name: 'account-proxy-logins',
  eventTypes: ['ProxyLoginClaimed', 'ProxyLoginReleased'],
  tables: ['account_proxy_logins'],
  migrations: [{
    id: 'account-proxy-logins/001-table',
    async up(db) {
      await sql`create table account_proxy_logins (login text primary key, port_id text not null, claimed_at timestamptz not null)`.execute(db);
      await sql`create index account_proxy_logins_claimed on account_proxy_logins (claimed_at)`.execute(db);
    },
  }],
  async apply(trx, events) {
    for (const event of events) {
      const e = event as RecordedEvent & LoginEvent;
      switch (e.type) {
        case 'ProxyLoginClaimed':
          await trx.insertInto('account_proxy_logins').values({ login: e.data.login, port_id: e.data.portId, claimed_at: e.data.claimedAt })
            .onConflict((oc) => oc.column('login').doUpdateSet({ port_id: e.data.portId, claimed_at: e.data.claimedAt })).execute();
          break;
        case 'ProxyLoginReleased':
          await trx.deleteFrom('account_proxy_logins').where('login', '=', e.data.login).where('port_id', '=', e.data.portId).execute();
          break;
        default:
          assertNever(e);
      }
    }
  },
};

/**
 * Login claims taken before `before` whose port, as the read models show it, does not exist, is deleted
 * or goes by another login. Candidates only: the worker decides on the streams.
 */
export const strandedLoginClaims = async (db: Db, before: Date) =>
  db.selectFrom('account_proxy_logins as c').leftJoin('account_ports as p', 'p.port_id', 'c.port_id').select(['c.login', 'c.port_id'])
    .where('c.claimed_at', '<', before)
    .where((eb) => eb.or([eb('p.port_id', 'is', null), eb('p.status', '=', 'deleted'), eb('p.proxy_login', '<>', eb.ref('c.login'))]))
    .orderBy('c.claimed_at').limit(200).execute() as Promise<Array<{ login: string; port_id: string }>>;
