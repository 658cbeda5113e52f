import { LruMap } from '../lru.ts';

/**
 * A single append on PostgreSQL, the path of one writer: one statement, prepared once per connection.
 *
 * Its revision is the stream's newest + 1. That newest is looked up in the statement (APPEND_LOOKUP),
 * unless the store already knows a revision the stream has (KnownRevisions: it appended or read it), or
 * the append expects no stream; then the revision is given (APPEND_AT) and the index lookup is skipped.
 * A given revision is never a guess that can go wrong silently: revisions are dense, so the one below it
 * exists, and the unique (stream_id, revision) index refuses it when someone else took it first. That
 * unique violation, like an expected revision that did not match, sends the append to the careful form.
 */

/** $1 stream, $2 'any' | 'no_stream' | 'stream_exists' | 'exact', $3 the exact revision, $4 the events. Positions start at xid * 65536. */
export const APPEND_LOOKUP = `
  with r as (select coalesce(max(x.revision), -1) as cur from es_events x where x.stream_id = $1)
  insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
  select pg_current_xact_id()::text::bigint * 65536 + e.n - 1, $1, r.cur + e.n, (e.ev->>'id')::uuid, e.ev->>'type', e.ev->'data', e.ev->'metadata'
  from r cross join lateral jsonb_array_elements($4::jsonb) with ordinality e(ev, n)
  where case $2::text when 'any' then true when 'no_stream' then r.cur = -1 when 'stream_exists' then r.cur >= 0 else r.cur = $3::bigint end
  returning revision, position`;

/** $1 stream, $2 the revision the stream is at (-1: none), $3 the events. */
export const APPEND_AT = `
  insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
  select pg_current_xact_id()::text::bigint * 65536 + e.n - 1, $1, $2::bigint + e.n, (e.ev->>'id')::uuid, e.ev->>'type', e.ev->'data', e.ev->'metadata'
  from jsonb_array_elements($3::jsonb) with ordinality e(ev, n)
  returning revision, position`;

/**
 * APPEND_AT for one event, its columns as parameters: no JSON array to take apart in the statement, which made
 * it about 15 % slower for the single writer (one event per append is what most commands append).
 * $1 stream, $2 the revision the stream is at, $3 id, $4 type, $5 data, $6 metadata (JSON texts).
 */
export const APPEND_ONE_AT = `
  insert into es_events (position, stream_id, revision, event_id, type, data, metadata)
  values (pg_current_xact_id()::text::bigint * 65536, $1, $2::bigint + 1, $3::uuid, $4, $5::jsonb, $6::jsonb)
  returning revision, position`;

export function oneAtParams(streamId: string, at: bigint, event: { id: string; type: string; data: string | undefined; metadata: string | undefined }): unknown[] {
  return [streamId, at.toString(), event.id, event.type, event.data ?? null, event.metadata ?? null];
}

/**
 * APPEND_LOOKUP's $2 and $3: the expected revision as a mode and a number, never one text cast to bigint (a
 * plan for known values may fold every CASE arm, and 'any'::bigint would fail there).
 */
export function lookupExpected(expected: string): [string, string | null] {
  return expected === 'any' || expected === 'no_stream' || expected === 'stream_exists' ? [expected, null] : ['exact', expected];
}

/** The revision to append after without looking it up, when that is safe (see the header), or undefined. */
export function revisionToAppendAt(expected: string, known: bigint | undefined): bigint | undefined {
  if (expected === 'no_stream') return -1n;
  if (known === undefined) return undefined;
  if (expected === 'any' || expected === 'stream_exists') return known;
  const exact = BigInt(expected);
  return known >= exact ? exact : undefined; // at or below a revision that exists
}

/** The newest revision this store has seen each stream have, for a bounded number of streams (least recently used out). */
export class KnownRevisions {
  private readonly revisions: LruMap<string, bigint>;

  constructor(max = 10_000) {
    this.revisions = new LruMap(max);
  }

  get(streamId: string): bigint | undefined {
    return this.revisions.get(streamId);
  }

  saw(streamId: string, revision: bigint): void {
    const had = this.revisions.get(streamId);
    if (had === undefined || had < revision) this.revisions.set(streamId, revision);
  }
}
