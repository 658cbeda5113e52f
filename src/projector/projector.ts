import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Database, Db } from '../../adapters/db/database.ts';
import { migrate } from '../../adapters/db/migrations.ts';
import type { EventStore } from '../../adapters/eventstore/port.ts';
import type { Projection } from '../../projections/projection.ts';
import { checkpointMigrations, lockProjections, readCheckpoints, resetCheckpoint } from './checkpoints.ts';
import { Feed } from './feed.ts';
import { Lane, type LaneContext, type LaneState } from './lane.ts';
import { PROGRESS_CHANNEL, ProgressBroadcast, RemoteProgress } from './progress.ts';

export interface ProjectorLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ProjectorOptions {
  maxBatch?: number;
  /** First wait before a failed projection retries alone; it doubles per failure up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How long the shared reader waits for its slowest projection before leaving it to catch up alone. */
  stallMs?: number;
  logger?: ProjectorLogger;
  /** Enables pushed progress across processes (LISTEN/NOTIFY) and skipping the WAL flush of projection commits. */
  database?: Pick<Database, 'kind' | 'listen' | 'othersListening'>;
}

export interface ProjectionStatus {
  name: string;
  state: LaneState | 'stopped';
  checkpoint: string;
  /** Events of this projection's types after its checkpoint, among the next LAG_SCAN events (`lagCapped`: there are more). */
  lag: number | null;
  lagCapped: boolean;
  lastError: { message: string; at: string } | null;
}

const LAG_SCAN = 10_000;

/**
 * Reads $all once per process (the Feed) and hands each batch to every projection (its Lane), which
 * applies its part in its own transaction with a compare-and-set of its checkpoint: a crash never loses
 * or repeats an event, and a concurrent rebuild or second projector makes a lane step back and resume.
 * A lane that is behind or failing reads alone and rejoins; it never holds the others.
 */
export class Projector {
  private readonly all: Projection[];
  private readonly changed = new EventEmitter();
  private readonly lanes = new Map<string, Lane>();
  private feed: Feed | undefined;
  private readonly remote: RemoteProgress;
  private readonly broadcast: ProgressBroadcast | undefined;

  constructor(
    private readonly db: Db,
    private readonly store: EventStore,
    projections: readonly Projection[],
    private readonly options: ProjectorOptions = {},
  ) {
    this.all = [...projections];
    this.changed.setMaxListeners(0);
    this.remote = new RemoteProgress(db, options.database);
    if (options.database?.kind === 'postgres') {
      const database = options.database;
      this.broadcast = new ProgressBroadcast(db, () => this.localProgress(), () => database.othersListening(PROGRESS_CHANNEL));
    }
  }

  get projections(): readonly Projection[] {
    return this.all;
  }

  async migrate(): Promise<void> {
    await migrate(this.db, [...checkpointMigrations, ...this.all.flatMap((p) => p.migrations)]);
  }

  projection(name: string): Projection {
    const projection = this.all.find((p) => p.name === name);
    if (!projection) throw new Error(`unknown projection "${name}" (known: ${this.all.map((p) => p.name).join(', ')})`);
    return projection;
  }

  /** Starts the reader and every projection; returns at once. Projections behind the others catch up alone. */
  async start(): Promise<void> {
    if (this.feed) return;
    await this.migrate();
    const stored = await readCheckpoints(this.db);
    const from = this.all.reduce((max, p) => { const c = stored.get(p.name) ?? -1n; return c > max ? c : max; }, -1n);
    this.feed = this.newFeed(from, this.options.stallMs ?? 2000, this.lanes);
    const ctx = this.laneContext(this.feed, false, (lane) => this.noteProgress(lane));
    for (const projection of this.all) await this.startLane(projection, ctx);
    this.feed.run();
  }

  /** Adds a read model to a running system: its tables are created and it catches up alone, then rides the shared feed. */
  async add(projection: Projection): Promise<void> {
    if (this.all.some((p) => p.name === projection.name)) throw new Error(`projection "${projection.name}" is already registered`);
    await migrate(this.db, [...checkpointMigrations, ...projection.migrations]);
    this.all.push(projection);
    if (this.feed) await this.startLane(projection, this.laneContext(this.feed, false, (lane) => this.noteProgress(lane)));
  }

  async stop(): Promise<void> {
    const feed = this.feed;
    this.feed = undefined;
    await feed?.stop();
    await Promise.all([...this.lanes.values()].map((lane) => lane.stop()));
    this.lanes.clear();
    await this.remote.close();
  }

  private async startLane(projection: Projection, ctx: LaneContext): Promise<void> {
    const lane = new Lane(projection, ctx);
    await lane.init();
    this.lanes.set(projection.name, lane);
    this.noteProgress(lane);
    void lane.run();
  }

  private newFeed(from: bigint, stallMs: number, lanes: Map<string, Lane>): Feed {
    const maxBatch = this.options.maxBatch ?? 500;
    return new Feed(this.store, from, {
      maxBatch,
      maxRingEvents: Math.max(8 * maxBatch, 4000),
      stallMs,
      retryDelayMs: this.options.retryDelayMs ?? 1000,
      lowWater: () => {
        let low: bigint | null = null;
        for (const lane of lanes.values()) if (lane.onRing && (low === null || lane.progress < low)) low = lane.progress;
        return low;
      },
      onError: (err) => this.options.logger?.error({ err }, 'event feed failed; resuming'),
    });
  }

  private laneContext(feed: Feed, failFast: boolean, onProgress: (lane: Lane) => void): LaneContext {
    return {
      db: this.db,
      asyncCommit: this.options.database?.kind === 'postgres',
      store: this.store,
      feed,
      maxBatch: this.options.maxBatch ?? (failFast ? 2000 : 500),
      retryDelayMs: this.options.retryDelayMs ?? 1000,
      maxRetryDelayMs: this.options.maxRetryDelayMs ?? 30_000,
      failFast,
      onProgress: (lane) => { feed.trim(); onProgress(lane); },
      onError: (lane, err) => this.options.logger?.error({ err, projection: lane.name, failures: lane.failures }, 'projection failed; retrying alone'),
    };
  }

  private noteProgress(_lane: Lane): void {
    this.changed.emit('progress');
    this.broadcast?.publish();
  }

  private localProgress(): Map<string, bigint> {
    return new Map([...this.lanes].map(([name, lane]) => [name, lane.progress]));
  }

  /**
   * Read-your-writes: resolves true once the named read models (all when `readModels` is omitted) have
   * passed `position`, false on timeout. Each route names the read models its answer reads. With the
   * projector in this process it follows the lanes; otherwise pushed notifications from the projector's
   * process (stored checkpoints as the slow fallback).
   */
  async waitFor(position: bigint, readModels?: readonly string[], timeoutMs = 5000): Promise<boolean> {
    const names = readModels ?? this.all.map((p) => p.name);
    for (const name of names) this.projection(name); // an unknown name is a programming error, not a timeout
    const deadline = Date.now() + timeoutMs;
    if (this.lanes.size === 0) await this.remote.ready(); // listening before the first look, even when it answers at once
    for (;;) {
      const local = this.lanes.size > 0;
      const version = this.remote.version;
      const at = (name: string) => (local ? (this.lanes.get(name)?.progress ?? -1n) : this.remote.get(name));
      if (names.every((name) => at(name) >= position)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (!local) {
        await this.remote.changed(version, left);
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.changed.off('progress', done); resolve(); };
        const timer = setTimeout(done, left);
        this.changed.on('progress', done);
      });
    }
  }

  /** Per projection: where it is, how far behind, and its last error (for /health). */
  async status(): Promise<ProjectionStatus[]> {
    const stored = this.lanes.size > 0 ? this.localProgress() : await readCheckpoints(this.db);
    return Promise.all(this.all.map(async (p) => {
      const lane = this.lanes.get(p.name);
      const checkpoint = stored.get(p.name) ?? -1n;
      let lag: number | null = 0;
      let scanned = 0;
      try {
        for await (const e of this.store.readAll({ fromPosition: checkpoint + 1n, maxCount: LAG_SCAN })) {
          scanned++;
          if (p.eventTypes.includes(e.type)) lag++;
        }
      } catch {
        lag = null; // the store could not read from there (an EventStoreDB position is not just any number)
      }
      return { name: p.name, state: lane?.state ?? 'stopped', checkpoint: checkpoint.toString(), lag, lagCapped: scanned >= LAG_SCAN, lastError: lane?.lastError ?? null };
    }));
  }

  /**
   * Empties the read models and replays $all into all of them together: one read of $all, each batch
   * applied per projection with its checkpoint. Safe next to a live projector (compare-and-set).
   * Returns how many events each applied.
   */
  async rebuild(
    names: readonly string[] = this.all.map((p) => p.name),
    onProgress?: (p: { projection: string; applied: number; position: bigint; head: bigint }) => void,
  ): Promise<{ projection: string; applied: number; ms: number }[]> {
    await this.migrate();
    const chosen = names.map((name) => this.projection(name));
    const started = Date.now();
    await this.db.transaction().execute(async (trx) => {
      // The apply locks first: they wait for a live lane's batch in flight and keep the next one out until
      // this commits, so the deletes see, and remove, everything a live lane wrote; the lane then finds its
      // checkpoint moved and steps back.
      await lockProjections(trx, chosen.map((p) => p.name));
      for (const projection of chosen) {
        for (const table of projection.tables) await sql`delete from ${sql.table(table)}`.execute(trx);
        await resetCheckpoint(trx, projection.name);
      }
    });
    const head = await this.store.headPosition();
    if (head <= 0n) return chosen.map((p) => ({ projection: p.name, applied: 0, ms: Date.now() - started })); // an empty store
    const lanes = new Map<string, Lane>();
    const finished = new Map<string, number>();
    // Lock-step: the reader waits for the slowest projection, so $all is read once.
    const feed = this.newFeed(-1n, Number.POSITIVE_INFINITY, lanes);
    const ctx = this.laneContext(feed, true, (lane) => {
      onProgress?.({ projection: lane.name, applied: lane.applied, position: lane.progress, head });
      if (lane.progress >= head && !finished.has(lane.name)) finished.set(lane.name, Date.now() - started);
    });
    for (const projection of chosen) {
      const lane = new Lane(projection, ctx);
      await lane.init();
      lanes.set(projection.name, lane);
    }
    const runs = [...lanes.values()].map((lane) => lane.run(head)); // on the ring before the first batch arrives
    feed.run();
    try {
      await Promise.all(runs);
    } finally {
      await feed.stop();
      await Promise.all([...lanes.values()].map((lane) => lane.stop()));
    }
    return chosen.map((p) => ({ projection: p.name, applied: lanes.get(p.name)!.applied, ms: finished.get(p.name) ?? Date.now() - started }));
  }
}
