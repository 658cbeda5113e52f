import { sql } from 'kysely';
import type { Migration } from '../db/migrations.ts';

/**
 * Positions are `xid * 65536 + index within the transaction`: strictly increasing in commit-safe order.
 * Readers only read below `pg_snapshot_xmin(pg_current_snapshot()) * 65536`, the horizon under which
 * every transaction has finished, so a transaction that commits late can never slip in behind a
 * subscriber's checkpoint (the bigserial gap). Appends stay concurrent; one statement does an append.
 * The function sends no NOTIFY: a notifying commit takes a database-wide lock and would serialise every
 * append behind one WAL flush. The store notifies after the fact, coalesced (see postgres.ts).
 */
export const eventStoreMigrations: Migration[] = [
  {
    id: 'eventstore/001-events',
    async up(db) {
      await sql`create table es_streams (stream_id text primary key, revision bigint not null)`.execute(db);
      await sql`
        create table es_events (
          position bigint primary key,
          stream_id text not null,
          revision bigint not null,
          event_id uuid not null unique,
          type text not null,
          data jsonb not null,
          metadata jsonb not null,
          unique (stream_id, revision)
        )`.execute(db);
      await sql`create index es_events_type_position on es_events (type, position)`.execute(db);
      await sql.raw(APPEND_FUNCTION).execute(db);
    },
  },
  {
    // Optimistic concurrency: no stream row to lock and update; the unique (stream_id, revision) index decides.
    id: 'eventstore/002-append-by-unique-revision',
    async up(db) {
      await sql`drop function es_append(text, text, jsonb)`.execute(db);
      await sql.raw(APPEND_FUNCTION_V2).execute(db);
    },
  },
  {
    // Group commit: concurrent appends of one process share a transaction and its WAL flush.
    id: 'eventstore/003-append-batch',
    async up(db) {
      await sql.raw(APPEND_BATCH_FUNCTION).execute(db);
    },
  },
  {
    // The fast path: one statement per append or group of appends, no subtransactions.
    id: 'eventstore/004-append-many',
    async up(db) {
      await sql.raw(APPEND_MANY_FUNCTION).execute(db);
    },
  },
  {
    // APPEND_AT of postgres-single.ts as a function, so PGlite cached its plan. No longer called (PGlite prepares
    // statements now, adapters/db/pglite-wire.ts); kept so an older release still runs on a data directory this one used.
    id: 'eventstore/005-append-at',
    async up(db) {
      await sql.raw(`
        create or replace function es_append_at(p_stream text, p_at bigint, p_events jsonb)
        returns table (revision bigint, "position" bigint)
        language plpgsql as $$
        begin
          return query
          insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
          select pg_current_xact_id()::text::bigint * 65536 + e.n - 1, p_stream, p_at + e.n, (e.ev->>'id')::uuid, e.ev->>'type', e.ev->'data', e.ev->'metadata'
          from jsonb_array_elements(p_events) with ordinality e(ev, n)
          returning es_events.revision, es_events.position;
        end $$`).execute(db);
    },
  },
];

/**
 * es_append_many: the fast path of an append, one statement for one or many appends (a group commit): no
 * subtransaction, one plan cached per connection. Each append's revision is its stream's newest + 1 and
 * the unique (stream_id, revision) and event_id indexes decide races, as in es_append; an append whose
 * expected revision does not match is left out (its row has no next_revision) and the store retries it
 * with es_append's careful form, which tells a repeat from a conflict. A unique violation fails the whole
 * statement, so each append is all or nothing. The store calls it as its transaction's only statement, so
 * positions start at xid * 65536. p_items as es_append_batch takes them.
 */
const APPEND_MANY_FUNCTION = `
create or replace function es_append_many(p_items jsonb)
returns table (idx int, next_revision bigint, last_position bigint)
language plpgsql as $$
begin
  return query
  with items as (
    select t.ord::int - 1 as i, t.it->>'s' as s, t.it->>'e' as e, t.it->'v' as v from jsonb_array_elements(p_items) with ordinality t(it, ord)
  ), cur as (
    select items.*, coalesce((select max(x.revision) from es_events x where x.stream_id = items.s), -1) as r from items
  ), ok as (
    select * from cur where case cur.e when 'any' then true when 'no_stream' then cur.r = -1 when 'stream_exists' then cur.r >= 0 else cur.r = cur.e::bigint end
  ), evs as (
    select ok.s, ok.r + x.n as rev, x.ev, row_number() over (order by ok.i, x.n) as k
    from ok cross join lateral jsonb_array_elements(ok.v) with ordinality x(ev, n)
  ), ins as (
    insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
    select pg_current_xact_id()::text::bigint * 65536 + evs.k - 1, evs.s, evs.rev, (evs.ev->>'id')::uuid, evs.ev->>'type', evs.ev->'data', evs.ev->'metadata' from evs
    returning es_events.stream_id, es_events.revision, es_events.position
  )
  select c.i, a.rev, a.pos
  from cur c left join (select ins.stream_id, max(ins.revision) as rev, max(ins.position) as pos from ins group by ins.stream_id) a on a.stream_id = c.s;
end $$;
`;

/**
 * es_append_batch: several independent appends in one transaction (one WAL flush). Each runs in its own
 * subtransaction (BEGIN … EXCEPTION), so one that fails — wrong expected version, a concurrent append that
 * won its revision — rolls back alone and comes back as its SQLSTATE, DETAIL and message; the others
 * commit. Positions continue within the transaction (es_append numbers after the transaction's earlier
 * events; pg_current_xact_id() is the top-level id inside a subtransaction).
 * p_items: [{"s": stream, "e": expected revision, "v": events}].
 */
const APPEND_BATCH_FUNCTION = `
create or replace function es_append_batch(p_items jsonb)
returns table (idx int, next_revision bigint, last_position bigint, err_code text, err_detail text, err_message text)
language plpgsql as $$
declare
  item jsonb;
  r record;
  i int := 0;
begin
  for item in select x from jsonb_array_elements(p_items) x loop
    idx := i;
    next_revision := null; last_position := null; err_code := null; err_detail := null; err_message := null;
    begin
      select a.next_revision, a.last_position into r from es_append(item->>'s', item->>'e', item->'v') a;
      next_revision := r.next_revision;
      last_position := r.last_position;
    exception when others then
      get stacked diagnostics err_code = returned_sqlstate, err_detail = pg_exception_detail, err_message = message_text;
    end;
    return next;
    i := i + 1;
  end loop;
end $$;
`;

const APPEND_FUNCTION = `
create or replace function es_append(p_stream text, p_expected text, p_events jsonb)
returns table (next_revision bigint, last_position bigint)
language plpgsql as $$
declare
  n int := jsonb_array_length(p_events);
  ids uuid[];
  cur bigint;
  base bigint;
  found_count int;
  found_other int;
  found_rev bigint;
  found_pos bigint;
begin
  if n = 0 or n > 65535 then
    raise exception 'an append carries 1 to 65535 events, got %', n using errcode = 'ES400';
  end if;
  -- an array, not a subquery over the jsonb: the planner then probes the unique index instead of scanning
  select array_agg((x->>'id')::uuid) into ids from jsonb_array_elements(p_events) x;
  insert into es_streams (stream_id, revision) values (p_stream, -1) on conflict (stream_id) do nothing;
  select s.revision into cur from es_streams s where s.stream_id = p_stream for update;

  -- same event ids again: answer what the first append answered, write nothing
  select count(*), count(*) filter (where e.stream_id <> p_stream), max(e.revision), max(e.position)
    into found_count, found_other, found_rev, found_pos
    from es_events e
    where e.event_id = any (ids);
  if found_count > 0 then
    if found_count = n and found_other = 0 then
      return query select found_rev, found_pos;
      return;
    end if;
    raise exception 'some of these event ids were appended before' using errcode = 'ES400';
  end if;

  if p_expected = 'no_stream' then
    if cur <> -1 then raise exception 'wrong expected version' using errcode = 'ES409', detail = cur::text; end if;
  elsif p_expected = 'stream_exists' then
    if cur = -1 then raise exception 'wrong expected version' using errcode = 'ES409', detail = cur::text; end if;
  elsif p_expected <> 'any' then
    if cur <> p_expected::bigint then raise exception 'wrong expected version' using errcode = 'ES409', detail = cur::text; end if;
  end if;

  base := (pg_current_xact_id()::text::bigint) * 65536;
  select coalesce(max(e.position) + 1, base) into base
    from es_events e where e.position >= base and e.position < base + 65536;
  if base - (pg_current_xact_id()::text::bigint) * 65536 + n > 65536 then
    raise exception 'one transaction appends at most 65536 events' using errcode = 'ES400';
  end if;

  insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
    select base + x.i - 1, p_stream, cur + x.i, (x.e->>'id')::uuid, x.e->>'type', x.e->'data', x.e->'metadata'
    from jsonb_array_elements(p_events) with ordinality as x(e, i);
  update es_streams set revision = cur + n where stream_id = p_stream;
  return query select cur + n, base + n - 1;
end $$;
`;

/**
 * es_append, optimistic. The stream's revision is the newest (stream_id, revision) entry; the insert
 * itself is the concurrency check: two appends at the same revision both try to insert revision r+1
 * and the unique index lets exactly one commit (the other waits for it, then fails with 23505).
 * No stream row is locked or updated, so an append is one index probe and one insert.
 *
 * p_careful (the store's retry after a 23505): look for the same event ids first, as a repeat of an
 * append that already happened answers its first result. On the fast path that check runs only when
 * the expected revision does not match (a repeat usually carries the revision it was first sent with);
 * a repeat with 'any' collides on the event_id index instead and comes back careful.
 * Errors: ES409 wrong expected version (DETAIL: actual revision, -1 for none), ES400 bad input,
 * 23505 a concurrent append won (the store retries with p_careful).
 * es_streams is left in place but no longer written.
 */
const APPEND_FUNCTION_V2 = `
create or replace function es_append(p_stream text, p_expected text, p_events jsonb, p_careful boolean default false)
returns table (next_revision bigint, last_position bigint)
language plpgsql as $$
declare
  n int := jsonb_array_length(p_events);
  cur bigint;
  base bigint;
  xbase bigint;
  found_count int;
  found_other int;
  found_rev bigint;
  found_pos bigint;
  matches boolean;
begin
  if n = 0 or n > 65535 then
    raise exception 'an append carries 1 to 65535 events, got %', n using errcode = 'ES400';
  end if;
  select coalesce(max(e.revision), -1) into cur from es_events e where e.stream_id = p_stream;
  matches := case p_expected
    when 'any' then true
    when 'no_stream' then cur = -1
    when 'stream_exists' then cur >= 0
    else cur = p_expected::bigint end;

  if p_careful or not matches then
    -- same event ids again: answer what the first append answered, write nothing
    select count(*), count(*) filter (where e.stream_id <> p_stream), max(e.revision), max(e.position)
      into found_count, found_other, found_rev, found_pos
      from es_events e
      where e.event_id = any (array(select (x->>'id')::uuid from jsonb_array_elements(p_events) x));
    if found_count > 0 then
      if found_count = n and found_other = 0 then
        return query select found_rev, found_pos;
        return;
      end if;
      raise exception 'some of these event ids were appended before' using errcode = 'ES400';
    end if;
    if not matches then
      raise exception 'wrong expected version' using errcode = 'ES409', detail = cur::text;
    end if;
  end if;

  xbase := pg_current_xact_id()::text::bigint * 65536;
  -- a second append in the same transaction continues after the first
  select coalesce(max(e.position) + 1, xbase) into base
    from es_events e where e.position >= xbase and e.position < xbase + 65536;
  if base - xbase + n > 65536 then
    raise exception 'one transaction appends at most 65536 events' using errcode = 'ES400';
  end if;

  insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
    select base + x.i - 1, p_stream, cur + x.i, (x.e->>'id')::uuid, x.e->>'type', x.e->'data', x.e->'metadata'
    from jsonb_array_elements(p_events) with ordinality as x(e, i);
  return query select cur + n, base + n - 1;
end $$;
`;
