/**
 * The event store port. Every implementation (PostgreSQL via pg, PostgreSQL on PGlite, EventStoreDB)
 * passes the same contract suite in test/eventstore/contract.ts.
 *
 * Positions: a bigint per event, strictly increasing in $all order, not necessarily contiguous.
 * readAll's fromPosition is inclusive; subscribeToAll's fromPosition is exclusive ("after"), as in
 * EventStoreDB, so a subscriber resumes from its stored checkpoint without re-reading it.
 */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

export interface EventMetadata {
  correlationId: string;
  causationId: string | null;
  actor: string;
  occurredAt: string;
  [key: string]: unknown;
}

export interface NewEvent<Type extends string = string, Data = unknown> {
  /** Makes the append idempotent: appending the same ids again is a no-op returning the first result. */
  id?: string;
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> {
  id: string;
  streamId: string;
  revision: bigint;
  position: bigint;
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

export interface AppendResult {
  nextRevision: bigint;
  position: bigint;
}

export class WrongExpectedVersion extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`wrong expected version on ${streamId}: expected ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedVersion';
  }
}

export interface SubscriptionBatch {
  events: RecordedEvent[];
  /** Everything matching the filter up to and including this position has been delivered. */
  checkpoint: bigint;
}

export interface SubscribeOptions {
  fromPosition?: bigint;
  /** Only these event types are delivered; checkpoints still advance past the others. */
  eventTypes?: readonly string[];
  maxBatch?: number;
}

export interface Subscription {
  /** Resolves when the subscription stops; rejects with the handler's or the store's error. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface EventStore {
  readonly kind: 'postgres' | 'pglite' | 'eventstoredb';
  append(streamId: string, events: NewEvent[], options: { expectedRevision: ExpectedRevision }): Promise<AppendResult>;
  readStream(streamId: string, options?: { fromRevision?: bigint }): AsyncIterable<RecordedEvent>;
  readAll(options?: { fromPosition?: bigint; maxCount?: number }): AsyncIterable<RecordedEvent>;
  /** Catch-up, then live. The handler is awaited before the next batch is delivered. */
  subscribeToAll(options: SubscribeOptions, handler: (batch: SubscriptionBatch) => Promise<void>): Subscription;
  /** Position of the newest event readers can see, 0n when empty. */
  headPosition(): Promise<bigint>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const MAX_EVENTS_PER_APPEND = 65_535;
