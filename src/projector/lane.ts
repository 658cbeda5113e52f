import type { Db } from '../../adapters/db/database.ts';
import type { EventStore, RecordedEvent } from '../../adapters/eventstore/port.ts';
import type { Projection } from '../../projections/projection.ts';
import { advanceCheckpoint, lockCheckpoint, readCheckpoint } from './checkpoints.ts';
import type { Feed } from './feed.ts';
import { Pulse } from './feed.ts';

export class CheckpointMoved extends Error {}

export type LaneState = 'live' | 'catching-up' | 'failing';

export interface LaneContext {
  db: Db;
  /** Projection transactions may skip the WAL flush: a lost commit loses its checkpoint too, so it is re-applied. */
  asyncCommit: boolean;
  store: EventStore;
  feed: Feed;
  maxBatch: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** Rebuilds stop at the first error instead of retrying. */
  failFast: boolean;
  onProgress(lane: Lane): void;
  onError(lane: Lane, error: unknown): void;
}

/** Checkpoint-only advances are written at most this often per lane (an applied batch writes them at once). */
const FLUSH_IDLE_MS = 1000;

/**
 * One projection's way through $all: from the shared feed's ring while it keeps up, alone from its
 * stored checkpoint while it is behind (new, rebuilt, failed), rejoining the ring once it reaches it.
 * Every batch it applies commits together with a compare-and-set of its checkpoint.
 */
export class Lane {
  /** The checkpoint as stored (the compare-and-set expects it). */
  stored = -1n;
  /** Everything of this projection's types up to here is applied; may run ahead of `stored` past events it does not take. */
  progress = -1n;
  state: LaneState = 'catching-up';
  lastError: { message: string; at: string } | null = null;
  failures = 0;
  applied = 0;
  readonly types: ReadonlySet<string>;
  private stopped = false;
  private storedAt = 0;
  private readonly wake = new Pulse();
  private loop: Promise<void> | undefined;

  constructor(readonly projection: Projection, private readonly ctx: LaneContext) {
    this.types = new Set(projection.eventTypes);
  }

  get name(): string {
    return this.projection.name;
  }

  /** Reading from the shared ring (and so holding it back when slow). */
  get onRing(): boolean {
    return this.state === 'live';
  }

  async init(): Promise<void> {
    this.stored = this.progress = await readCheckpoint(this.ctx.db, this.name);
  }

  /** Runs until stopped; with failFast, until `until` is reached (rejects on the first error). */
  run(until?: bigint): Promise<void> {
    this.loop ??= this.runLoop(until);
    return this.loop;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.fire();
    this.ctx.feed.pulse.fire();
    await this.loop?.catch(() => {});
    if (this.progress > this.stored) await this.flush().catch(() => {});
  }

  private async runLoop(until?: bigint): Promise<void> {
    const { feed } = this.ctx;
    while (!this.stopped && (until === undefined || this.progress < until)) {
      try {
        if (this.progress < feed.start) {
          this.state = 'catching-up';
          await this.catchUpAlone(until);
          continue;
        }
        const next = feed.take(this.progress, this.types, this.ctx.maxBatch);
        if (!next) {
          this.state = 'live';
          if (feed.isStopped) return;
          const flushIn = this.storedAt + FLUSH_IDLE_MS - Date.now();
          if (this.progress > this.stored && flushIn <= 0) await this.flush();
          else await feed.pulse.next(this.progress > this.stored ? flushIn : undefined);
          continue;
        }
        await this.apply(next.checkpoint, next.events);
        this.state = 'live';
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof CheckpointMoved) {
          await this.init(); // a rebuild or another projector moved it: go on from there
          continue;
        }
        if (this.ctx.failFast) throw error;
        this.failures++;
        this.state = 'failing';
        this.lastError = { message: error instanceof Error ? error.message : String(error), at: new Date().toISOString() };
        this.ctx.onError(this, error);
        feed.trim(); // a failing lane no longer holds the ring
        await this.wake.next(Math.min(this.ctx.retryDelayMs * 2 ** (this.failures - 1), this.ctx.maxRetryDelayMs));
      }
    }
  }

  /** Reads from the store on its own until it reaches the ring (or `until`). */
  private async catchUpAlone(until?: bigint): Promise<void> {
    const { feed, store } = this.ctx;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => { finish = resolve; });
    const subscription = store.subscribeToAll(
      { fromPosition: this.progress, eventTypes: this.projection.eventTypes, maxBatch: this.ctx.maxBatch },
      async (batch) => {
        if (this.stopped) return finish();
        await this.apply(batch.checkpoint, batch.events);
        if (this.progress >= feed.start || (until !== undefined && this.progress >= until)) finish();
      },
    );
    const stopped = this.wake.next();
    // The feed may come to this lane's position (the feed read later than this lane's last batch).
    let watching = true;
    void (async () => {
      while (watching) {
        await feed.pulse.next();
        if (this.progress >= feed.start || feed.isStopped) finish();
      }
    })();
    try {
      await Promise.race([finished, subscription.done, stopped]);
    } finally {
      watching = false;
      await subscription.stop();
    }
  }

  private async apply(target: bigint, events: RecordedEvent[]): Promise<void> {
    if (target <= this.progress) return;
    const after = this.progress;
    const mine = events.filter((e) => e.position > after && this.types.has(e.type));
    if (mine.length === 0) {
      this.progress = target; // nothing to write: the stored checkpoint follows with the next batch or when idle
      this.ctx.onProgress(this);
      return;
    }
    await this.ctx.db.transaction().execute(async (trx) => {
      // Own the projection first: a rebuild or a second projector applying the same events waits here and
      // then steps back, instead of meeting this batch's rows as duplicate keys (an error that is not
      // CheckpointMoved, so it was retried forever against rows that were already there).
      if (!(await lockCheckpoint(trx, this.name, this.stored, this.ctx.asyncCommit))) throw new CheckpointMoved();
      await this.projection.apply(trx, mine);
      if (!(await advanceCheckpoint(trx, this.name, this.stored, target))) throw new CheckpointMoved();
    });
    this.stored = this.progress = target;
    this.storedAt = Date.now();
    this.applied += mine.length;
    this.failures = 0;
    this.ctx.onProgress(this);
  }

  private async flush(): Promise<void> {
    const target = this.progress;
    if (!(await advanceCheckpoint(this.ctx.db, this.name, this.stored, target))) throw new CheckpointMoved();
    this.stored = target;
    this.storedAt = Date.now();
  }
}
