import { WrongExpectedVersion, type EventMetadata, type EventStore, type ExpectedRevision } from '../../adapters/eventstore/port.ts';
import { uuidv7 } from '../../adapters/ids.ts';
import type { Decider } from '../../domain/shared/decider.ts';
import type { Clock } from '../clock.ts';

export interface CommandDeps {
  store: EventStore;
  clock: Clock;
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
 * append fail with WrongExpectedVersion; then we reload and decide again, a bounded number of times.
 * Either the events were appended or nothing was.
 */
export async function handleCommand<Command, Event extends { type: string; data: unknown }, State>(
  deps: CommandDeps,
  decider: Decider<Command, Event, State>,
  streamId: string,
  command: Command,
  origin: CommandOrigin,
  { retries = 3 }: { retries?: number } = {},
): Promise<Handled<Event, State>> {
  for (let attempt = 0; ; attempt++) {
    let state = decider.initialState();
    let revision: bigint | null = null;
    for await (const recorded of deps.store.readStream(streamId)) {
      state = decider.evolve(state, { type: recorded.type, data: recorded.data } as Event);
      revision = recorded.revision;
    }
    const now = deps.clock.now();
    const events = decider.decide(command, state, { now, newId: () => uuidv7(now.getTime()) });
    if (events.length === 0) return { events, state, nextRevision: revision ?? -1n, position: 0n };
    const metadata: EventMetadata = {
      correlationId: origin.correlationId,
      causationId: origin.causationId ?? null,
      actor: origin.actor,
      occurredAt: now.toISOString(),
    };
    const expectedRevision: ExpectedRevision = revision === null ? 'no_stream' : revision;
    try {
      const result = await deps.store.append(streamId, events.map((e) => ({ type: e.type, data: e.data, metadata })), { expectedRevision });
      return { events, state: events.reduce(decider.evolve, state), ...result };
    } catch (error) {
      if (error instanceof WrongExpectedVersion && attempt < retries) continue;
      throw error;
    }
  }
}
