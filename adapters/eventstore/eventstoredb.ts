import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamRecordedEvent,
  type AllStreamSubscription,
  type Position,
  type ReadPosition,
} from '@eventstore/db-client';
import { uuidv7 } from '../ids.ts';
import { toEventJson } from './json.ts';
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

/**
 * The event store on EventStoreDB (or KurrentDB) through @eventstore/db-client.
 * Its $all position is the pair (commit, prepare); ours is one bigint that keeps the same order:
 * commit * 2^64 + prepare. Checkpoint columns are numeric so they hold it.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;
  private readonly subscriptions = new Set<Subscription>();

  private constructor(private readonly client: EventStoreDBClient) {}

  static async connect(connectionString: string): Promise<EventStoreDbEventStore> {
    const store = new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString));
    await store.ping();
    return store;
  }

  async append(streamId: string, events: NewEvent[], { expectedRevision }: { expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    if (events.length === 0 || events.length > MAX_EVENTS_PER_APPEND) {
      throw new RangeError(`an append carries 1 to ${MAX_EVENTS_PER_APPEND} events, got ${events.length}`);
    }
    const data = events.map((e) =>
      jsonEvent({ id: e.id ?? uuidv7(), type: e.type, data: toEventJson(e.data) as Record<string, unknown>, metadata: toEventJson(e.metadata) as Record<string, unknown> }),
    );
    try {
      const result = await this.client.appendToStream(streamId, data, { expectedRevision: toEsdbExpected(expectedRevision) });
      if (!result.position) throw new Error('EventStoreDB returned no position for the append');
      return { nextRevision: result.nextExpectedRevision, position: encodePosition(result.position) };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedVersion(streamId, expectedRevision, error.actualVersion === NO_STREAM ? 'no_stream' : error.actualVersion);
      }
      throw error;
    }
  }

  async *readStream(streamId: string, options: { fromRevision?: bigint } = {}): AsyncIterable<RecordedEvent> {
    try {
      for await (const resolved of this.client.readStream(streamId, { direction: FORWARDS, fromRevision: options.fromRevision ?? START })) {
        if (resolved.event) yield toRecorded(resolved.event as AllStreamRecordedEvent);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return;
      throw error;
    }
  }

  async *readAll(options: { fromPosition?: bigint; maxCount?: number } = {}): AsyncIterable<RecordedEvent> {
    let left = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (left <= 0) return;
    const fromPosition: ReadPosition = options.fromPosition !== undefined && options.fromPosition > 0n ? decodePosition(options.fromPosition) : START;
    for await (const resolved of this.client.readAll({ direction: FORWARDS, fromPosition })) {
      const event = resolved.event;
      if (!event || event.type.startsWith('$')) continue; // system events are the server's, not ours
      yield toRecorded(event);
      if (--left <= 0) return;
    }
  }

  async headPosition(): Promise<bigint> {
    for await (const resolved of this.client.readAll({ direction: BACKWARDS, fromPosition: END })) {
      if (resolved.event && !resolved.event.type.startsWith('$')) return encodePosition(resolved.event.position);
    }
    return 0n;
  }

  subscribeToAll(options: SubscribeOptions, handler: (batch: SubscriptionBatch) => Promise<void>): Subscription {
    // One queue for events and checkpoints so the handler sees them in order, one at a time.
    let queue: Promise<void> = Promise.resolve();
    const deliver = (batch: SubscriptionBatch) => (queue = queue.then(() => handler(batch)));
    // A checkpoint covers the events the server sent before it; some may still sit in the stream's
    // buffer, unread by the loop below. Passing the checkpoint on then would skip them, so it waits
    // for a moment when the buffer is empty (the next checkpoint comes soon enough).
    const checkpointReached = async (subscription: AllStreamSubscription, position: Position) => {
      if (subscription.readableLength > 0) return;
      await deliver({ events: [], checkpoint: encodePosition(position) });
    };
    const filter = options.eventTypes
      ? eventTypeFilter({ regex: `^(${options.eventTypes.map(escapeRegex).join('|')})$`, checkpointReached })
      : excludeSystemEvents({ checkpointReached });
    const from = options.fromPosition;
    const esdb = this.client.subscribeToAll({ fromPosition: from !== undefined && from >= 0n ? decodePosition(from) : START, filter });
    let stopped = false;
    const done = (async () => {
      try {
        for await (const resolved of esdb) {
          const event = resolved.event;
          if (!event || event.type.startsWith('$')) continue;
          const recorded = toRecorded(event);
          await deliver({ events: [recorded], checkpoint: recorded.position });
        }
        await queue;
      } catch (error) {
        if (!stopped) throw error;
      }
    })();
    const subscription: Subscription = {
      done,
      stop: async () => {
        stopped = true;
        this.subscriptions.delete(subscription);
        await esdb.unsubscribe().catch(() => {});
        await done.catch(() => {});
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async ping(): Promise<void> {
    // Reading one event backwards from the end is the cheapest round trip that needs a live server.
    for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.client.dispose();
  }
}

const TWO_64 = 1n << 64n;
export const encodePosition = (p: Position): bigint => p.commit * TWO_64 + p.prepare;
export const decodePosition = (p: bigint): Position => ({ commit: p / TWO_64, prepare: p % TWO_64 });

function toEsdbExpected(expected: ExpectedRevision) {
  switch (expected) {
    case 'no_stream': return NO_STREAM;
    case 'stream_exists': return STREAM_EXISTS;
    case 'any': return ANY;
    default: return expected;
  }
}

function toRecorded(event: AllStreamRecordedEvent): RecordedEvent {
  return {
    id: event.id,
    streamId: event.streamId,
    revision: event.revision,
    position: encodePosition(event.position),
    type: event.type,
    data: event.data,
    metadata: event.metadata as EventMetadata,
  };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
