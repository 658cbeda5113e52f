import type { EventStore, RecordedEvent, Subscription, SubscriptionBatch } from '../../adapters/eventstore/port.ts';

/** A batch as the feed read it: every event in (from, checkpoint], unfiltered. */
export interface FeedBatch {
  from: bigint;
  checkpoint: bigint;
  events: RecordedEvent[];
}

export interface FeedOptions {
  maxBatch: number;
  /** How many events the ring keeps for lanes that have not taken them yet. */
  maxRingEvents: number;
  /** How long a full ring waits for its slowest lane before dropping the oldest batches (the lane then reads alone). */
  stallMs: number;
  /** Lowest progress among the lanes that read from the ring (null: none do). */
  lowWater(): bigint | null;
  onError(error: unknown): void;
  retryDelayMs: number;
}

/** Wakes everyone waiting for the next change, once. */
export class Pulse {
  private waiters = new Set<() => void>();
  fire(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
  next(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => { clearTimeout(timer); this.waiters.delete(done); resolve(); };
      if (Number.isFinite(timeoutMs)) timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}

/**
 * The one reader of $all in this process. It keeps the batches it read in a ring until every lane
 * reading from the ring has taken them; a lane behind the ring's start catches up alone and rejoins.
 * The ring covers (start, position] without gaps.
 */
export class Feed {
  private ring: FeedBatch[] = [];
  private ringEvents = 0;
  private subscription: Subscription | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Fires when a batch arrives, the ring is trimmed, or the feed stops. */
  readonly pulse = new Pulse();

  constructor(
    private readonly store: EventStore,
    public position: bigint,
    private readonly options: FeedOptions,
  ) {}

  /** Lanes whose progress is at or after this take their events from the ring. */
  get start(): bigint {
    return this.ring[0]?.from ?? this.position;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  run(): void {
    this.running ??= (async () => {
      while (!this.stopped) {
        try {
          this.subscription = this.store.subscribeToAll({ fromPosition: this.position, maxBatch: this.options.maxBatch }, (batch) => this.accept(batch));
          await this.subscription.done;
        } catch (error) {
          if (this.stopped) return;
          this.options.onError(error);
          await this.pulse.next(this.options.retryDelayMs);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pulse.fire();
    await this.subscription?.stop();
    await this.running;
  }

  /**
   * Events after `after` of the given types, from whole consecutive batches up to about `maxEvents`,
   * and the checkpoint they reach; undefined when the ring holds nothing after `after`.
   */
  take(after: bigint, types: ReadonlySet<string>, maxEvents: number): { checkpoint: bigint; events: RecordedEvent[] } | undefined {
    if (after < this.start || after >= this.position) return undefined;
    let i = 0;
    while (i < this.ring.length && this.ring[i]!.checkpoint <= after) i++;
    if (i === this.ring.length) return undefined;
    const events: RecordedEvent[] = [];
    let checkpoint = after;
    for (; i < this.ring.length; i++) {
      const batch = this.ring[i]!;
      for (const e of batch.events) if (e.position > after && types.has(e.type)) events.push(e);
      checkpoint = batch.checkpoint;
      if (events.length >= maxEvents) break;
    }
    return { checkpoint, events };
  }

  /** Drops the batches every ring lane has taken. */
  trim(): void {
    const low = this.options.lowWater();
    let drop = 0;
    while (drop < this.ring.length && (low === null || this.ring[drop]!.checkpoint <= low)) drop++;
    if (drop > 0) this.drop(drop);
  }

  private drop(count: number): void {
    for (const batch of this.ring.splice(0, count)) this.ringEvents -= batch.events.length;
    this.pulse.fire();
  }

  private full(): boolean {
    return this.ringEvents > this.options.maxRingEvents || this.ring.length > 256;
  }

  private async accept(batch: SubscriptionBatch): Promise<void> {
    if (this.stopped || batch.checkpoint <= this.position) return;
    const last = this.ring[this.ring.length - 1];
    // Checkpoint-only batches merge, so an idle feed does not fill the ring.
    if (batch.events.length === 0 && last && last.events.length === 0) last.checkpoint = batch.checkpoint;
    else this.ring.push({ from: this.position, checkpoint: batch.checkpoint, events: batch.events });
    this.ringEvents += batch.events.length;
    this.position = batch.checkpoint;
    this.pulse.fire();
    this.trim();
    if (!this.full()) return;
    // Back-pressure: the store waits for this handler, so the ring grows no further while it waits.
    const deadline = Date.now() + this.options.stallMs;
    while (this.full() && !this.stopped && Date.now() < deadline) {
      await this.pulse.next(Math.min(deadline - Date.now(), 1000));
      this.trim();
    }
    if (this.full() && !this.stopped) {
      let drop = 0;
      let events = this.ringEvents;
      while (drop < this.ring.length - 1 && events > this.options.maxRingEvents / 2) events -= this.ring[drop++]!.events.length;
      this.drop(Math.max(drop, 1));
    }
  }
}
