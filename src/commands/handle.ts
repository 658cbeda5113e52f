import { WrongExpectedVersion, type EventMetadata, type EventStore, type ExpectedRevision } from '../../adapters/eventstore/port.ts';
import { uuidv7 } from '../../adapters/ids.ts';
import type { Decider } from '../../domain/shared/decider.ts';
import type { Clock } from '../clock.ts';
import type { AggregateCache } from './aggregates.ts';

export interface CommandDeps {
  store: EventStore;
  clock: Clock;
  /** Folds kept between commands (aggregates.ts); without it every command reads its stream. */
  aggregates?: AggregateCache;
}

/** Who asked, and in answer to what: carried into every event's metadata. */
export interface CommandOrigin {
  actor: string;
  correlationId: string;
  causationId?: string | null;
}

export interface Handled<Event, State> {
  events: Event[];
  state: State;
  nextRevision: bigint;
  /** Global position of the last appended event; 0n when the decision appended nothing. */
  position: bigint;
}

/**
 * load → fold → decide → append with the revision we decided on. A concurrent writer makes the
 * append fail with WrongExpectedVersion; then we catch up and decide again, a bounded number of times.
 * Either the events were appended or nothing was.
 *
 * The load is skipped when the state can be guessed: the fold this process cached after its last
 * command on the stream (deps.aggregates), or the empty state of a stream the caller knows is new
 * (`newStream`: a fresh id, a claim that is almost never taken). Events never change, so a guess is the
 * true fold of a prefix of the stream; the append's expected revision proves it is the whole stream.
 * A guess that fails the append, or that the decision refuses or finds nothing to do, is caught up from
 * the store and decided again: a refusal is only ever given on what the store holds.
 */
export async function handleCommand<Command, Event extends { type: string; data: unknown }, State>(
  deps: CommandDeps,
  decider: Decider<Command, Event, State>,
  streamId: string,
  command: Command,
  origin: CommandOrigin,
  { retries = 3, newStream = false }: { retries?: number; newStream?: boolean } = {},
): Promise<Handled<Event, State>> {
  const cache = deps.aggregates;
  const cached = cache?.get<State>(decider, streamId);
  let known: { state: State; revision: bigint | null } = cached ?? { state: decider.initialState(), revision: null };
  let guess = cached !== undefined || newStream;
  for (let conflicts = 0; ;) {
    let { state, revision } = known;
    if (!guess) {
      for await (const recorded of deps.store.readStream(streamId, revision === null ? {} : { fromRevision: revision + 1n })) {
        state = decider.evolve(state, { type: recorded.type, data: recorded.data } as Event);
        revision = recorded.revision;
      }
      known = { state, revision };
    }
    const now = deps.clock.now();
    let events: Event[];
    try {
      events = decider.decide(command, state, { now, newId: () => uuidv7(now.getTime()) });
    } catch (error) {
      if (guess) { guess = false; continue; }
      throw error;
    }
    if (events.length === 0) {
      if (guess) { guess = false; continue; }
      if (revision !== null) cache?.set(decider, streamId, state, revision);
      return { events, state, nextRevision: revision ?? -1n, position: 0n };
    }
    const metadata: EventMetadata = {
      correlationId: origin.correlationId,
      causationId: origin.causationId ?? null,
      actor: origin.actor,
      occurredAt: now.toISOString(),
    };
    const expectedRevision: ExpectedRevision = revision === null ? 'no_stream' : revision;
    try {
      const result = await deps.store.append(streamId, events.map((e) => ({ type: e.type, data: e.data, metadata })), { expectedRevision });
      const next = events.reduce(decider.evolve, state);
      cache?.set(decider, streamId, next, result.nextRevision);
      return { events, state: next, ...result };
    } catch (error) {
      if (error instanceof WrongExpectedVersion) {
        if (guess) { guess = false; continue; } // the guess was behind: catch up, not a conflict of its own
        if (++conflicts <= retries) continue;
      }
      cache?.delete(streamId); // unknown whether it was appended
      throw error;
    }
  }
}
