import { sql } from 'kysely';
import type { Database, Db } from '../../adapters/db/database.ts';
import { readCheckpoints } from './checkpoints.ts';

export const PROGRESS_CHANNEL = 'es_projector_progress';
/** Stored checkpoints are re-read this often when notifications are all an api-only process has (they can be lost on reconnect). */
const FALLBACK_POLL_MS = 1000;
/** Without LISTEN (no database handle given) an api-only process can only poll. */
const POLL_WITHOUT_LISTEN_MS = 50;

/**
 * Progress of read models in other processes, for read-your-writes in an api-only process: the
 * projector process NOTIFYs its in-memory progress (which runs ahead of stored checkpoints past events
 * a projection does not take), this side LISTENs; stored checkpoints are the slow fallback.
 */
export class RemoteProgress {
  private readonly known = new Map<string, bigint>();
  private readonly waiters = new Set<() => void>();
  private listening: Promise<(() => Promise<void>) | undefined> | undefined;
  private lastRead = 0;
  private closed = false;
  /** Bumped on every merge, so a waiter that checked at version v never sleeps through a change. */
  version = 0;

  constructor(private readonly db: Db, private readonly database?: Pick<Database, 'kind' | 'listen'>) {}

  get(name: string): bigint {
    return this.known.get(name) ?? -1n;
  }

  /**
   * Starts listening (once) and resolves when LISTEN is in place. A waiter must call it before its first
   * look at `get`: a notification sent before LISTEN is lost, and for a read model whose stored checkpoint
   * is written lazily nothing but the next notification (or the 1 s fallback) would tell of it.
   */
  async ready(): Promise<void> {
    if (this.database?.kind === 'postgres') await this.listen();
  }

  /** Resolves when progress may have changed since `version`, or after the fallback interval. */
  async changed(version: number, timeoutMs: number): Promise<void> {
    const canListen = this.database?.kind === 'postgres';
    if (canListen) await this.listen();
    if (Date.now() - this.lastRead >= (canListen ? FALLBACK_POLL_MS : POLL_WITHOUT_LISTEN_MS)) {
      this.lastRead = Date.now();
      this.merge(await readCheckpoints(this.db));
      return;
    }
    if (this.version !== version) return;
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(timer); this.waiters.delete(done); resolve(); };
      const timer = setTimeout(done, Math.min(timeoutMs, canListen ? FALLBACK_POLL_MS : POLL_WITHOUT_LISTEN_MS));
      this.waiters.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const stop = await this.listening;
    this.listening = undefined;
    await stop?.();
  }

  private listen() {
    if (this.closed) return Promise.resolve(undefined); // a late waitFor after stop must not open a connection again
    this.listening ??= this.database!.listen(PROGRESS_CHANNEL, (payload) => {
      try {
        this.merge(new Map(Object.entries(JSON.parse(payload) as Record<string, string>).map(([k, v]) => [k, BigInt(v)])));
      } catch {
        return; // not ours
      }
    }).catch(() => undefined);
    return this.listening;
  }

  private merge(progress: Map<string, bigint>): void {
    for (const [name, position] of progress) if (position > this.get(name)) this.known.set(name, position);
    this.version++;
    for (const w of [...this.waiters]) w();
  }
}

/** The projector side: one coalesced NOTIFY with every lane's progress, sent outside any transaction. */
export class ProgressBroadcast {
  private pending = false;
  private again = false;

  constructor(private readonly db: Db, private readonly snapshot: () => Map<string, bigint>, private readonly othersListening: () => boolean) {}

  publish(): void {
    if (!this.othersListening()) return; // no api-only process waits on this database
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = true;
    setImmediate(() => {
      const payload = JSON.stringify(Object.fromEntries([...this.snapshot()].map(([k, v]) => [k, v.toString()])));
      sql`select pg_notify(${PROGRESS_CHANNEL}, ${payload})`.execute(this.db)
        .catch(() => {}) // best effort: waiters also read the stored checkpoints
        .finally(() => {
          this.pending = false;
          if (this.again) {
            this.again = false;
            this.publish();
          }
        });
    });
  }
}
