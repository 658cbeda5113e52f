import { parse, protocol, type PGlite, type Results } from '@electric-sql/pglite';
import { LruMap } from '../lru.ts';

/**
 * Statements on PGlite in one protocol exchange each. PGlite's own query() makes six calls into the
 * backend per statement (parse, describe, bind, describe, execute, sync) and parses and plans it every
 * time; on the service's only thread that protocol work was about a fifth of a purchase's CPU. Here a
 * statement is prepared once under a name (parse and describe, one call), and each execution is one call:
 * bind, describe, execute and sync in one buffer. Parameters are serialized as PGlite's query() does,
 * by the types the statement's description gave, and rows are parsed by the same parsers.
 *
 * A statement that changes the schema (create, alter, drop, do) closes every prepared one, so none keeps a
 * plan or parameter types of a table that changed; so does a rollback after one inside the transaction. A change
 * the text does not show (DDL inside a function, search_path, deallocate) makes a prepared statement fail with
 * 0A000 or 26000: it is forgotten and, outside a transaction (where the failed attempt left nothing behind),
 * prepared again and run once more.
 */

type BackendMessage = Awaited<ReturnType<PGlite['execProtocolStream']>>[number];

const MAX_PREPARED = 500;
/** After any leading comments: a statement that changes the schema. */
const SCHEMA_CHANGE = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(create|alter|drop|do)\b/i;
const ROLLBACK = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*rollback\b/i;
/** A prepared statement that no longer fits ("cached plan must not change result type") or no longer exists. */
const STALE = new Set(['0A000', '26000']);
/** Statement names are unique per process: two wires on one PGlite must not take each other's. */
let wires = 0;

interface Prepared {
  name: string;
  paramTypes: number[];
}

export class PgliteWire {
  private readonly prepared: LruMap<string, Prepared>;
  /** Names evicted or invalidated: closed in the next exchange. */
  private toClose: string[] = [];
  private nextName = 0;
  private readonly prefix = `pw${wires++}_`;
  /** A schema change ran inside the open transaction: a rollback undoes it under the statements prepared since. */
  private changedInTransaction = false;

  constructor(private readonly pglite: PGlite, maxPrepared = MAX_PREPARED) {
    this.prepared = new LruMap(maxPrepared, (_text, p) => this.toClose.push(p.name));
  }

  /** Runs one statement; the caller holds the connection (no other statement interleaves). */
  async query<R>(text: string, params: readonly unknown[]): Promise<Results<R>> {
    if (SCHEMA_CHANGE.test(text)) return this.schemaChange<R>(text, params);
    const rollback = this.changedInTransaction && ROLLBACK.test(text);
    try {
      return await this.run<R>(text, params);
    } catch (error) {
      if (!STALE.has((error as { code?: string }).code ?? '')) throw error;
      this.forget(text);
      if (this.pglite.isInTransaction()) throw error;
      return await this.run<R>(text, params);
    } finally {
      if (rollback) this.prepared.clear();
      if (this.changedInTransaction && !this.pglite.isInTransaction()) this.changedInTransaction = false;
    }
  }

  private async run<R>(text: string, params: readonly unknown[]): Promise<Results<R>> {
    let statement = this.prepared.get(text);
    if (statement === undefined) statement = await this.prepare(text);
    return this.execute<R>([protocol.serialize.bind({ statement: statement.name, values: this.serialize(params, statement.paramTypes) })]);
  }

  private async prepare(text: string): Promise<Prepared> {
    const name = `${this.prefix}${this.nextName++}`;
    const statement = { name, paramTypes: await this.describe(text, name) };
    this.prepared.set(text, statement);
    return statement;
  }

  /** Parses `text` (under `name`, or unnamed) and answers its parameter types. */
  private async describe(text: string, name?: string): Promise<number[]> {
    return parse.parseDescribeStatementResults(await this.exchange([
      protocol.serialize.parse({ ...(name === undefined ? {} : { name }), text }),
      protocol.serialize.describe({ type: 'S', ...(name === undefined ? {} : { name }) }),
      protocol.serialize.sync(),
    ]));
  }

  /** `bound` (a bind, after a parse for an unnamed statement), then describe, execute and sync: its result. */
  private async execute<R>(bound: Uint8Array[]): Promise<Results<R>> {
    const messages = await this.exchange([...bound, protocol.serialize.describe({ type: 'P' }), protocol.serialize.execute({}), protocol.serialize.sync()]);
    return parse.parseResults(messages, this.pglite.parsers)[0] as Results<R>;
  }

  private forget(text: string): void {
    const statement = this.prepared.get(text);
    if (statement === undefined) return;
    this.prepared.delete(text);
    this.toClose.push(statement.name);
  }

  /** A schema change runs unnamed, and every prepared statement is closed with it. */
  private async schemaChange<R>(text: string, params: readonly unknown[]): Promise<Results<R>> {
    this.prepared.clear();
    if (this.pglite.isInTransaction()) this.changedInTransaction = true;
    const paramTypes = params.length > 0 ? await this.describe(text) : [];
    return this.execute<R>([protocol.serialize.parse({ text }), protocol.serialize.bind({ values: this.serialize(params, paramTypes) })]);
  }

  /** As PGlite's query(): null stays null, a known type has its serializer, anything else its text. */
  private serialize(params: readonly unknown[], types: readonly number[]): Array<string | null> {
    return params.map((param, i) => {
      if (param === null || param === undefined) return null;
      const serializer = this.pglite.serializers[types[i]!];
      return serializer ? serializer(param) : String(param);
    });
  }

  /** One call into the backend with every message; throws the first database error after the sync. */
  private async exchange(messages: Uint8Array[]): Promise<BackendMessage[]> {
    if (this.toClose.length > 0) {
      messages = [...this.toClose.map((name) => protocol.serialize.close({ type: 'S', name })), ...messages];
      this.toClose = [];
    }
    let length = 0;
    for (const m of messages) length += m.length;
    const buffer = new Uint8Array(length);
    let at = 0;
    for (const m of messages) {
      buffer.set(m, at);
      at += m.length;
    }
    return this.pglite._runExclusiveQuery(() => this.pglite.execProtocolStream(buffer));
  }
}
