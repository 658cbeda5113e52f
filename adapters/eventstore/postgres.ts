import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { migrate } from '../db/migrations.ts';
import { uuidv7 } from '../ids.ts';
import { eventStoreMigrations } from './postgres-schema.ts';
import { Append, MAX_GROUPED_EVENTS, MISMATCH, PostgresWrites } from './postgres-writes.ts';
import {
  MAX_EVENTS_PER_APPEND,
  WrongExpectedVersion,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionBatch,
} from './port.ts';

const PAGE = 1000;
/** 'any' appends racing on one stream retry this often before the conflict is reported. */
const MAX_CONFLICT_RETRIES = 32;
/** Fallback only: appends wake subscribers in-process and by NOTIFY. */
const IDLE_POLL_MS = 1000;
/** Re-read delay, doubling, while committed events wait above the horizon for an older transaction. */
const HELD_BACK_MAX_MS = 100;
/** Pause between an append's wake-up and the read: the latency it adds to read-your-writes, for one read per burst. */
const WAKE_GATHER_MS = 1;
/** Least time between two NOTIFYs of one store: the latency a burst adds for subscribers elsewhere. */
const NOTIFY_SPACING_MS = 5;
const APPENDED_CHANNEL = 'es_appended';


interface EventRow {
  position: bigint;
  stream_id: string;
  revision: bigint;
  event_id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

/** The event store on PostgreSQL, through Kysely on a pg Pool or on PGlite. See postgres-schema.ts. */
export class PostgresEventStore implements EventStore {
  readonly kind: 'postgres' | 'pglite';
  private readonly local = new EventEmitter();
  private readonly subscriptions = new Set<Subscription>();
  private stopListening: (() => Promise<void>) | undefined;
  private notifyPending = false;
  private notifyAgain = false;
  private lastNotifyAt = Number.NEGATIVE_INFINITY;
  private readonly writes: PostgresWrites;

  private constructor(private readonly database: Database) {
    this.kind = database.kind;
    this.writes = new PostgresWrites(database);
    this.local.setMaxListeners(0);
  }

  static async open(database: Database): Promise<PostgresEventStore> {
    await migrate(database.db, eventStoreMigrations);
    const store = new PostgresEventStore(database);
    // Appends from other processes arrive by NOTIFY; ours are signalled in-process at once.
    if (database.kind === 'postgres') store.stopListening = await database.listen(APPENDED_CHANNEL, () => store.local.emit('appended'));
    return store;
  }

  async append(streamId: string, events: NewEvent[], { expectedRevision }: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    if (events.length === 0 || events.length > MAX_EVENTS_PER_APPEND) {
      throw new RangeError(`an append carries 1 to ${MAX_EVENTS_PER_APPEND} events, got ${events.length}`);
    }
    const item = new Append(streamId, String(expectedRevision), events.map((e) => ({ id: e.id ?? uuidv7(), type: e.type, data: e.data, metadata: e.metadata })));
    for (let attempt = 0; ; attempt++) {
      try {
        // After a unique violation (a concurrent append won the revision, or these ids exist) or an
        // expected revision that did not match, the careful form answers a repeat with its first result,
        // or reports the wrong expected version.
        const careful = attempt > 0;
        const row = careful
          ? await this.writes.careful(item)
          : this.database.kind === 'postgres' && events.length <= MAX_GROUPED_EVENTS
            ? await this.writes.grouped(item)
            : await this.writes.one(item);
        this.writes.known.saw(streamId, row.next_revision);
        this.local.emit('appended');
        this.notifyOthers();
        return { nextRevision: row.next_revision, position: row.last_position };
      } catch (error) {
        const e = error as { code?: string; detail?: string; message?: string };
        if (e.code === 'ES409') {
          const actual = BigInt(e.detail ?? '-1');
          throw new WrongExpectedVersion(streamId, expectedRevision, actual < 0n ? 'no_stream' : actual);
        }
        // 40P01: two grouped transactions crossed on the same streams; the one refused retries alone
        if ((e.code === '23505' || e.code === '40P01' || e.code === MISMATCH) && attempt < MAX_CONFLICT_RETRIES) continue;
        if (e.code === 'ES400') throw new RangeError(e.message ?? 'invalid append');
        throw error;
      }
    }
  }

  async *readStream(streamId: string, options: { fromRevision?: bigint } = {}): AsyncIterable<RecordedEvent> {
    let from = options.fromRevision ?? 0n;
    for (;;) {
      const rows = (await this.database.db
        .selectFrom('es_events')
        .selectAll()
        .where('stream_id', '=', streamId)
        .where('revision', '>=', from)
        .orderBy('revision')
        .limit(PAGE)
        .execute()) as EventRow[];
      if (rows.length > 0) this.writes.known.saw(streamId, rows[rows.length - 1]!.revision);
      for (const row of rows) yield toRecorded(row);
      if (rows.length < PAGE) return;
      from = rows[rows.length - 1]!.revision + 1n;
    }
  }

  async *readAll(options: { fromPosition?: bigint; maxCount?: number } = {}): AsyncIterable<RecordedEvent> {
    const { head } = await this.horizon();
    let after = (options.fromPosition ?? 0n) - 1n;
    let left = options.maxCount ?? Number.POSITIVE_INFINITY;
    while (left > 0 && head !== null && after < head) {
      const rows = await this.page(after, head, Math.min(PAGE, left));
      for (const row of rows) yield toRecorded(row);
      if (rows.length === 0) return;
      left -= rows.length;
      after = rows[rows.length - 1]!.position;
    }
  }

  async headPosition(): Promise<bigint> {
    return (await this.horizon()).head ?? 0n;
  }

  /**
   * Catch-up, then live. Woken at once by appends in this process and by NOTIFY from others; the poll is
   * only a fallback. One query per read: the page below the horizon, the horizon itself, and whether
   * committed events wait above it (an older transaction still open), which is the one case re-read soon.
   */
  subscribeToAll(options: SubscribeOptions, handler: (batch: SubscriptionBatch) => Promise<void>): Subscription {
    let stopped = false;
    let wake: (() => void) | undefined;
    const onAppended = () => wake?.();
    this.local.on('appended', onAppended);
    const maxBatch = options.maxBatch ?? PAGE;
    const types = options.eventTypes;

    const run = async () => {
      let after = options.fromPosition ?? -1n;
      let heldBackMs = 0;
      while (!stopped) {
        // Arm the wake-up before reading so an append landing mid-read is not missed.
        let signalled = false;
        const woken = new Promise<void>((resolve) => { wake = () => { signalled = true; resolve(); }; });
        const { rows, horizon, heldBack } = await this.readAfter(after, maxBatch, types);
        if (stopped) break;
        const full = rows.length === maxBatch;
        // Below the horizon every transaction has finished: nothing can still appear there, so an
        // unfilled page moves the checkpoint up to it even when no event matched.
        const checkpoint = full ? rows[rows.length - 1]!.position : maxBig(after, horizon - 1n);
        if (rows.length > 0 || checkpoint > after) {
          await handler({ events: rows.map(toRecorded), checkpoint });
          after = checkpoint;
        }
        if (full) continue;
        if (!signalled) {
          heldBackMs = heldBack ? Math.min(Math.max(heldBackMs * 2, 2), HELD_BACK_MAX_MS) : 0;
          await Promise.race([woken, delay(heldBack ? heldBackMs : IDLE_POLL_MS)]);
        }
        // Woken by an append: let the appends right behind it land too and read them as one page. Each
        // read and each projection transaction is a round trip (on PGlite, CPU on this thread), and a
        // purchase appends four times in a few milliseconds: this halves what its projections cost.
        if (signalled) await delay(WAKE_GATHER_MS);
      }
    };
    const done = run().finally(() => { this.local.off('appended', onAppended); });
    const subscription: Subscription = {
      done,
      stop: async () => {
        stopped = true;
        wake?.();
        this.subscriptions.delete(subscription);
        await done.catch(() => {});
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Wakes subscribers in other processes. One NOTIFY covers every append that landed while the previous
   * one was in flight or within NOTIFY_SPACING_MS of it, so a burst of appends costs a few notifications
   * a millisecond apart, not one each (each is a round trip and a commit on the notify queue's lock).
   */
  private notifyOthers(): void {
    if (this.database.kind !== 'postgres' || !this.database.othersListening(APPENDED_CHANNEL)) return;
    if (this.notifyPending) {
      // it may have been sent before this append committed: send one more after it, or a listener that read in between waits for its poll
      this.notifyAgain = true;
      return;
    }
    this.notifyPending = true;
    const send = (): void => {
      this.lastNotifyAt = performance.now();
      sql`select pg_notify(${APPENDED_CHANNEL}, '')`.execute(this.database.db)
        .catch(() => {}) // best effort: subscribers also poll
        .finally(() => {
          this.notifyPending = false;
          if (this.notifyAgain) {
            this.notifyAgain = false;
            this.notifyOthers();
          }
        });
    };
    const wait = this.lastNotifyAt + NOTIFY_SPACING_MS - performance.now();
    if (wait > 0) setTimeout(send, wait);
    else setImmediate(send);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.database.db);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.stopListening?.();
  }

  /** The newest position below the horizon of finished transactions (null when there is none). */
  private async horizon(): Promise<{ head: bigint | null }> {
    const result = await sql<{ head: bigint | null }>`
      select (select max(position) from es_events
              where position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 65536) as head`.execute(this.database.db);
    return { head: result.rows[0]?.head ?? null };
  }

  private async page(after: bigint, head: bigint, limit: number): Promise<EventRow[]> {
    return (await this.database.db
      .selectFrom('es_events')
      .selectAll()
      .where('position', '>', after)
      .where('position', '<=', head)
      .orderBy('position')
      .limit(limit)
      .execute()) as EventRow[];
  }

  /** One round trip: up to `limit` events after `after` below the horizon, the horizon, and whether committed events wait above it. */
  private async readAfter(after: bigint, limit: number, types?: readonly string[]): Promise<{ rows: EventRow[]; horizon: bigint; heldBack: boolean }> {
    const typeFilter = types ? sql`and e.type in (${sql.join(types.length > 0 ? [...types] : [''])})` : sql``;
    const result = await sql<EventRow & { horizon: bigint; top: bigint | null }>`
      select h.horizon, (select max(position) from es_events) as top, e.*
      from (select pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 65536 as horizon) h
      left join lateral (
        select * from es_events e
        where e.position > ${after} and e.position < h.horizon ${typeFilter}
        order by e.position limit ${limit}
      ) e on true`.execute(this.database.db);
    const first = result.rows[0]!;
    const rows = first.position === null ? [] : result.rows;
    return { rows, horizon: first.horizon, heldBack: first.top !== null && first.top >= first.horizon };
  }
}

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
  };
}

const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);
const delay = (ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms).unref(); });
