import { expect } from 'chai';
import type { EventStore } from '../../adapters/eventstore/port.ts';
import { PostgresEventStore } from '../../adapters/eventstore/postgres.ts';
import type { Decider } from '../../domain/shared/decider.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { fixedClock } from '../../src/clock.ts';
import { AggregateCache } from '../../src/commands/aggregates.ts';
import { handleCommand, type CommandDeps } from '../../src/commands/handle.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

// A pool of seats: Take refuses when none is left, Give returns one. Small enough to reason about the cache.
type SeatCommand = { type: 'Open'; seats: number } | { type: 'Take'; who: string } | { type: 'Give'; who: string };
type SeatEvent = { type: 'Opened'; data: { seats: number } } | { type: 'Taken'; data: { who: string } } | { type: 'Given'; data: { who: string } };
type SeatState = { seats: number; holders: string[] } | null;
const seats: Decider<SeatCommand, SeatEvent, SeatState> = {
  initialState: () => null,
  evolve(state, event) {
    switch (event.type) {
      case 'Opened': return { seats: event.data.seats, holders: [] };
      case 'Taken': return state && { ...state, holders: [...state.holders, event.data.who] };
      case 'Given': return state && { ...state, holders: state.holders.filter((h) => h !== event.data.who) };
    }
  },
  decide(command, state) {
    if (command.type === 'Open') {
      if (state) throw new DomainError('conflict', 'OPEN', 'already open');
      return [{ type: 'Opened', data: { seats: command.seats } }];
    }
    if (!state) throw new DomainError('not_found', 'CLOSED', 'not open');
    if (command.type === 'Take') {
      if (state.holders.includes(command.who)) return [];
      if (state.holders.length >= state.seats) throw new DomainError('unavailable', 'FULL', 'no seat left');
      return [{ type: 'Taken', data: { who: command.who } }];
    }
    return state.holders.includes(command.who) ? [{ type: 'Given', data: { who: command.who } }] : [];
  },
};

const origin = { actor: 'test', correlationId: 'c' };
const clock = fixedClock(new Date('2026-12-03T12:00:00Z'));

/** The store, counting the stream reads that go through it. */
function counting(store: EventStore): { store: EventStore; reads: () => number } {
  let reads = 0;
  const wrapped = Object.create(store) as EventStore;
  wrapped.readStream = (streamId, options) => { reads++; return store.readStream(streamId, options); };
  return { store: wrapped, reads: () => reads };
}

describe('handleCommand with folds kept between commands', () => {
  let t: TestDatabase;
  let store: PostgresEventStore;
  beforeEach(async () => {
    t = await createTestDatabase('pglite');
    store = await PostgresEventStore.open(t.database);
  });
  afterEach(async () => {
    await store.close();
    await t.dispose();
  });

  it('decides the next command on a stream it wrote without reading it again', async () => {
    const c = counting(store);
    const deps: CommandDeps = { store: c.store, clock, aggregates: new AggregateCache() };
    await handleCommand(deps, seats, 'room-1', { type: 'Open', seats: 2 }, origin);
    await handleCommand(deps, seats, 'room-1', { type: 'Take', who: 'a' }, origin);
    await handleCommand(deps, seats, 'room-1', { type: 'Take', who: 'b' }, origin);
    expect(c.reads()).to.equal(1); // only the first command read (an empty stream)
    const events = [];
    for await (const e of store.readStream('room-1')) events.push(e.type);
    expect(events).to.deep.equal(['Opened', 'Taken', 'Taken']);
  });

  it('reads nothing for a stream the caller says is new, and still refuses when it was not', async () => {
    const c = counting(store);
    const deps: CommandDeps = { store: c.store, clock, aggregates: new AggregateCache() };
    await handleCommand(deps, seats, 'room-2', { type: 'Open', seats: 1 }, origin, { newStream: true });
    expect(c.reads()).to.equal(0);
    // another process (no shared cache) claims a stream we will also call new
    await handleCommand({ store, clock }, seats, 'room-3', { type: 'Open', seats: 1 }, origin);
    const refused = await handleCommand(deps, seats, 'room-3', { type: 'Open', seats: 5 }, origin, { newStream: true }).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(DomainError).and.have.property('code', 'OPEN');
  });

  it('catches up when another writer moved the stream: the last seat is not sold twice', async () => {
    const here: CommandDeps = { store, clock, aggregates: new AggregateCache() };
    const elsewhere: CommandDeps = { store, clock, aggregates: new AggregateCache() };
    await handleCommand(here, seats, 'room-4', { type: 'Open', seats: 1 }, origin); // cached here: one free seat
    await handleCommand(elsewhere, seats, 'room-4', { type: 'Take', who: 'x' }, origin);
    const refused = await handleCommand(here, seats, 'room-4', { type: 'Take', who: 'y' }, origin).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(DomainError).and.have.property('code', 'FULL');
    const taken = [];
    for await (const e of store.readStream('room-4')) if (e.type === 'Taken') taken.push((e.data as { who: string }).who);
    expect(taken).to.deep.equal(['x']);
  });

  it('refuses only on what the store holds: a seat given back elsewhere is taken, though the cached fold says full', async () => {
    const here: CommandDeps = { store, clock, aggregates: new AggregateCache() };
    const elsewhere: CommandDeps = { store, clock, aggregates: new AggregateCache() };
    await handleCommand(here, seats, 'room-5', { type: 'Open', seats: 1 }, origin);
    await handleCommand(here, seats, 'room-5', { type: 'Take', who: 'x' }, origin); // cached here: full
    await handleCommand(elsewhere, seats, 'room-5', { type: 'Give', who: 'x' }, origin);
    const took = await handleCommand(here, seats, 'room-5', { type: 'Take', who: 'y' }, origin);
    expect(took.events).to.deep.equal([{ type: 'Taken', data: { who: 'y' } }]);
    expect(took.state).to.deep.equal({ seats: 1, holders: ['y'] });
  });

  it('does not answer "nothing to do" from a stale fold', async () => {
    const here: CommandDeps = { store, clock, aggregates: new AggregateCache() };
    const elsewhere: CommandDeps = { store, clock, aggregates: new AggregateCache() };
    await handleCommand(here, seats, 'room-6', { type: 'Open', seats: 2 }, origin);
    await handleCommand(here, seats, 'room-6', { type: 'Take', who: 'x' }, origin); // cached here: x holds a seat
    await handleCommand(elsewhere, seats, 'room-6', { type: 'Give', who: 'x' }, origin);
    const again = await handleCommand(here, seats, 'room-6', { type: 'Take', who: 'x' }, origin);
    expect(again.events).to.have.length(1); // x had given the seat back: taking it is a new event, not a repeat
  });

  it('keeps at most its bound of folds, the least recently used out first', () => {
    const cache = new AggregateCache(2);
    cache.set(seats, 'a', 1, 0n);
    cache.set(seats, 'b', 2, 0n);
    cache.get(seats, 'a');
    cache.set(seats, 'c', 3, 0n);
    expect([cache.get(seats, 'a')?.state, cache.get(seats, 'b'), cache.get(seats, 'c')?.state]).to.deep.equal([1, undefined, 3]);
    expect(cache.get({}, 'a')).to.equal(undefined); // another decider's fold of the same stream id is not this one's
  });
});
