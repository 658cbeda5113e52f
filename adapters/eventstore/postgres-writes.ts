import { sql } from 'kysely';
import type { Database } from '../db/database.ts';
import { eventJsonText } from './json.ts';
import type { EventMetadata } from './port.ts';
import { APPEND_AT, APPEND_LOOKUP, APPEND_ONE_AT, KnownRevisions, lookupExpected, oneAtParams, revisionToAppendAt } from './postgres-single.ts';

/**
 * The PostgreSQL store's writes: the statements an append can take (postgres-single.ts for one alone, the group
 * statement, the careful function) and group commit. Which to take, and the retries between them, is the
 * store's append (postgres.ts).
 */

/** Group commit bounds: appends in flight alone or as groups, and a group's size (an append larger than MAX_GROUPED_EVENTS goes alone). */
const MAX_GROUPS_IN_FLIGHT = 3;
const MAX_GROUP_ITEMS = 64;
const MAX_GROUP_EVENTS = 2048;
export const MAX_GROUPED_EVENTS = 100;
/** An append left out of the fast statement because its expected revision did not match (retried careful). */
export const MISMATCH = 'ES_MISMATCH';

export interface AppendedRow {
  next_revision: bigint;
  last_position: bigint;
}

export interface StoredEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

/** An event's columns as the statements send them: data and metadata as JSON text (undefined stays undefined). */
export interface EventColumns {
  id: string;
  type: string;
  data: string | undefined;
  metadata: string | undefined;
}

/**
 * One append as the statements take it: the stream, the expected revision as text, and each event's JSON, made
 * once here, so an event that is not JSON (a bigint) is refused before anything is sent, alone or in a group.
 */
export class Append {
  readonly columns: readonly EventColumns[];
  private json: string | undefined;
  constructor(readonly streamId: string, readonly expected: string, stored: readonly StoredEvent[]) {
    this.columns = stored.map((e) => ({ id: e.id, type: e.type, data: eventJsonText(e.data), metadata: eventJsonText(e.metadata) }));
  }
  get events(): number {
    return this.columns.length;
  }
  /** Every event as one JSON array, as the functions and the many-event statements take them (built from the texts above). */
  get payload(): string {
    return (this.json ??= `[${this.columns.map(eventObjectText).join(',')}]`);
  }
}

/** What JSON.stringify gives for the event object: a member whose value is undefined is left out. */
function eventObjectText(e: EventColumns): string {
  const data = e.data === undefined ? '' : `,"data":${e.data}`;
  const metadata = e.metadata === undefined ? '' : `,"metadata":${e.metadata}`;
  return `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)}${data}${metadata}}`;
}

interface Grouped {
  item: Append;
  resolve(row: AppendedRow): void;
  reject(error: unknown): void;
}

/** The write side of PostgresEventStore, over one database. */
export class PostgresWrites {
  /** Revisions streams are known to have: a single append after one needs no lookup. */
  readonly known = new KnownRevisions();
  private readonly waiting: Grouped[] = [];
  private groupsInFlight = 0;

  constructor(private readonly database: Database) {}

  /** The careful form (es_append): checks for a repeat of the same ids before reporting a conflict. */
  async careful({ streamId, expected, payload }: Append): Promise<AppendedRow> {
    const result = await sql<AppendedRow>`select * from es_append(${streamId}, ${expected}, ${payload}::jsonb, true)`.execute(this.database.db);
    return result.rows[0]!;
  }

  /**
   * One append alone (postgres-single.ts): after a known revision, or none, the revision is given and not
   * looked up. One statement prepared once per connection (on PGlite, by pglite-wire.ts).
   */
  async one(item: Append): Promise<AppendedRow> {
    const at = revisionToAppendAt(item.expected, this.known.get(item.streamId));
    const rows = at === undefined
      ? await this.database.prepared<{ revision: bigint; position: bigint }>('es_append_lookup', APPEND_LOOKUP, [item.streamId, ...lookupExpected(item.expected), item.payload])
      : item.events === 1
        ? await this.database.prepared<{ revision: bigint; position: bigint }>('es_append_one_at', APPEND_ONE_AT, oneAtParams(item.streamId, at, item.columns[0]!))
        : await this.database.prepared<{ revision: bigint; position: bigint }>('es_append_at', APPEND_AT, [item.streamId, at.toString(), item.payload]);
    if (rows.length === 0) throw Object.assign(new Error('expected revision did not match'), { code: MISMATCH });
    let last = rows[0]!;
    for (const row of rows) if (row.position > last.position) last = row;
    return { next_revision: last.revision, last_position: last.position };
  }

  /**
   * The fast path: every append of `items` in one INSERT statement (its own transaction). An item whose
   * expected revision does not match is left out and comes back as MISMATCH (the careful form then tells
   * a repeat from a conflict); a unique violation fails the whole statement, so each append is all or nothing.
   */
  private async appendMany(items: readonly Append[]): Promise<Array<AppendedRow | Error>> {
    const result = await sql<{ idx: number; next_revision: bigint | null; last_position: bigint | null }>`select * from es_append_many(${itemsJson(items)}::jsonb)`.execute(this.database.db);
    const outcomes: Array<AppendedRow | Error> = items.map(() => Object.assign(new Error('expected revision did not match'), { code: MISMATCH }));
    for (const row of result.rows) {
      if (row.next_revision !== null && row.last_position !== null) outcomes[row.idx] = { next_revision: row.next_revision, last_position: row.last_position };
    }
    return outcomes;
  }

  /**
   * Group commit. An append goes out at once when few are in flight; appends arriving meanwhile wait and go
   * together in one es_append_many, one transaction and one WAL flush. Each gets its own result or error
   * (the same codes as alone, so the retry rules above stay as they are): when the statement fails as a
   * whole, the group runs again in es_append_batch, one subtransaction per append (sendGroup).
   */
  grouped(item: Append): Promise<AppendedRow> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.sendGrouped();
    });
  }

  private sendGrouped(): void {
    while (this.groupsInFlight < MAX_GROUPS_IN_FLIGHT && this.waiting.length > 0) {
      let n = 0;
      let events = 0;
      while (n < this.waiting.length && n < MAX_GROUP_ITEMS && events + this.waiting[n]!.item.events <= MAX_GROUP_EVENTS) events += this.waiting[n++]!.item.events;
      const group = this.waiting.splice(0, Math.max(n, 1));
      this.groupsInFlight++;
      void this.sendGroup(group).finally(() => {
        this.groupsInFlight--;
        this.sendGrouped();
      });
    }
  }

  private async sendGroup(group: Grouped[]): Promise<void> {
    try {
      // Alone, an append that fails retries careful (its caller's loop); grouped, a statement failing as a
      // whole runs again in es_append_batch, one subtransaction per append, so only the one at fault fails.
      if (group.length === 1) return group[0]!.resolve(await this.one(group[0]!.item));
      const items = group.map((g) => g.item);
      const outcomes = await this.appendMany(items).catch(() => this.appendSeparately(items));
      for (const [i, g] of group.entries()) {
        const outcome = outcomes[i]!;
        if (outcome instanceof Error) g.reject(outcome);
        else g.resolve(outcome);
      }
    } catch (error) {
      for (const g of group) g.reject(error); // one transaction: all of them were appended or none
    }
  }

  private async appendSeparately(group: readonly Append[]): Promise<Array<AppendedRow | Error>> {
    const items = itemsJson(group);
    const result = await sql<AppendedRow & { idx: number; err_code: string | null; err_detail: string | null; err_message: string | null }>`
      select * from es_append_batch(${items}::jsonb)`.execute(this.database.db);
    const outcomes: Array<AppendedRow | Error> = group.map(() => new Error('es_append_batch returned no row for this append'));
    for (const row of result.rows) {
      outcomes[row.idx] = row.err_code === null
        ? { next_revision: row.next_revision, last_position: row.last_position }
        : Object.assign(new Error(row.err_message ?? 'append failed'), { code: row.err_code, detail: row.err_detail ?? undefined });
    }
    return outcomes;
  }
}

/** Appends as the functions and the fast statement take them: [{"s": stream, "e": expected, "v": events}]. */
function itemsJson(items: readonly Append[]): string {
  return `[${items.map((g) => `{"s":${JSON.stringify(g.streamId)},"e":${JSON.stringify(g.expected)},"v":${g.payload}}`).join(',')}]`;
}
