import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Db } from '../../adapters/db/database.ts';
import { migrate } from '../../adapters/db/migrations.ts';
import type { EventStore, Subscription, SubscriptionBatch } from '../../adapters/eventstore/port.ts';
import type { Projection } from '../../projections/projection.ts';
import { advanceCheckpoint, checkpointMigrations, readCheckpoint, readCheckpoints, resetCheckpoint } from './checkpoints.ts';

export interface ProjectorLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ProjectorOptions {
  maxBatch?: number;
  /** Wait before a failed projection is restarted from its stored checkpoint. */
  retryDelayMs?: number;
  logger?: ProjectorLogger;
}

class CheckpointMoved extends Error {}

/**
 * Runs each projection as its own subscription. A batch of events and the checkpoint that follows it
 * are committed in one transaction, with a compare-and-set on the checkpoint: a crash never loses or
 * repeats an event, and a concurrent rebuild or second projector makes this one step back and resume.
 */
export class Projector {
  private readonly progress = new Map<string, bigint>();
  private readonly changed = new EventEmitter();
  private readonly running = new Map<string, { subscription: Subscription | undefined; stopped: boolean }>();

  constructor(
    private readonly db: Db,
    private readonly store: EventStore,
    readonly projections: readonly Projection[],
    private readonly options: ProjectorOptions = {},
  ) {
    this.changed.setMaxListeners(0);
  }

  async migrate(): Promise<void> {
    await migrate(this.db, [...checkpointMigrations, ...this.projections.flatMap((p) => p.migrations)]);
  }

  projection(name: string): Projection {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`unknown projection "${name}" (known: ${this.projections.map((p) => p.name).join(', ')})`);
    return projection;
  }

  /** Starts every projection live; returns at once. */
  async start(): Promise<void> {
    await this.migrate();
    for (const projection of this.projections) {
      const state = { subscription: undefined as Subscription | undefined, stopped: false };
      this.running.set(projection.name, state);
      void this.runLive(projection, state);
    }
  }

  async stop(): Promise<void> {
    const states = [...this.running.values()];
    for (const state of states) state.stopped = true;
    await Promise.all(states.map((s) => s.subscription?.stop()));
    this.running.clear();
  }

  private async runLive(projection: Projection, state: { subscription: Subscription | undefined; stopped: boolean }): Promise<void> {
    while (!state.stopped) {
      try {
        let checkpoint = await readCheckpoint(this.db, projection.name);
        this.noteProgress(projection.name, checkpoint);
        const subscription = this.store.subscribeToAll(
          { fromPosition: checkpoint, eventTypes: projection.eventTypes, maxBatch: this.options.maxBatch ?? 500 },
          async (batch) => { checkpoint = await this.applyBatch(projection, checkpoint, batch); },
        );
        state.subscription = subscription;
        await subscription.done;
      } catch (error) {
        if (state.stopped) return;
        if (!(error instanceof CheckpointMoved)) this.options.logger?.error({ err: error, projection: projection.name }, 'projection failed; restarting from its checkpoint');
        await new Promise((r) => setTimeout(r, error instanceof CheckpointMoved ? 0 : this.options.retryDelayMs ?? 1000));
      }
    }
  }

  /** Applies batches from `from` until the checkpoint reaches `head`. */
  private async catchUp(projection: Projection, from: bigint, head: bigint, onBatch: (applied: number, position: bigint) => void): Promise<void> {
    if (from >= head) return;
    let checkpoint = from;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => { finish = resolve; });
    const subscription = this.store.subscribeToAll(
      { fromPosition: from, eventTypes: projection.eventTypes, maxBatch: this.options.maxBatch ?? 2000 },
      async (batch) => {
        checkpoint = await this.applyBatch(projection, checkpoint, batch);
        onBatch(batch.events.length, checkpoint);
        if (checkpoint >= head) finish();
      },
    );
    try {
      await Promise.race([finished, subscription.done]);
    } finally {
      await subscription.stop();
    }
    await subscription.done;
  }

  private async applyBatch(projection: Projection, from: bigint, batch: SubscriptionBatch): Promise<bigint> {
    if (batch.checkpoint <= from) return from;
    await this.db.transaction().execute(async (trx) => {
      if (batch.events.length > 0) await projection.apply(trx, batch.events);
      if (!(await advanceCheckpoint(trx, projection.name, from, batch.checkpoint))) throw new CheckpointMoved();
    });
    this.noteProgress(projection.name, batch.checkpoint);
    return batch.checkpoint;
  }

  private noteProgress(name: string, position: bigint) {
    this.progress.set(name, position);
    this.changed.emit('progress');
  }

  /**
   * Read-your-writes: resolves true once the named read models (all of them when `readModels` is
   * omitted) have passed `position`, false on timeout. Each route names the read models its answer reads.
   * Uses this process's progress when the projector runs here, else polls the stored checkpoints.
   */
  async waitFor(position: bigint, readModels?: readonly string[], timeoutMs = 5000): Promise<boolean> {
    const names = readModels ?? this.projections.map((p) => p.name);
    for (const name of names) this.projection(name); // an unknown name is a programming error, not a timeout
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reached = this.running.size > 0 ? this.progress : await readCheckpoints(this.db);
      if (names.every((name) => (reached.get(name) ?? -1n) >= position)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.changed.off('progress', done); resolve(); };
        const timer = setTimeout(done, this.running.size > 0 ? left : Math.min(left, 50));
        this.changed.on('progress', done);
      });
    }
  }

  /**
   * Empties the read model(s) and replays $all into them, in batches committed with their checkpoint.
   * Safe next to a live projector (see advanceCheckpoint). Returns how many events were applied.
   */
  async rebuild(
    names: readonly string[] = this.projections.map((p) => p.name),
    onProgress?: (p: { projection: string; applied: number; position: bigint; head: bigint }) => void,
  ): Promise<{ projection: string; applied: number; ms: number }[]> {
    await this.migrate();
    const results = [];
    for (const name of names) {
      const projection = this.projection(name);
      const started = Date.now();
      await this.db.transaction().execute(async (trx) => {
        for (const table of projection.tables) await sql`delete from ${sql.table(table)}`.execute(trx);
        await resetCheckpoint(trx, projection.name);
      });
      const head = await this.store.headPosition();
      let applied = 0;
      let checkpoint = -1n;
      while (checkpoint < head) {
        checkpoint = await readCheckpoint(this.db, projection.name);
        try {
          await this.catchUp(projection, checkpoint, head, (n, position) => {
            applied += n;
            checkpoint = position;
            onProgress?.({ projection: name, applied, position, head });
          });
        } catch (error) {
          if (!(error instanceof CheckpointMoved)) throw error; // a live projector took a batch: go on from its checkpoint
        }
        checkpoint = await readCheckpoint(this.db, projection.name);
      }
      results.push({ projection: name, applied, ms: Date.now() - started });
    }
    return results;
  }
}
