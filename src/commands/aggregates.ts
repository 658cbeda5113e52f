import { LruMap } from '../../adapters/lru.ts';

/**
 * The last state this process folded for a stream, kept so the next command on it needs no read. It is
 * only ever a guess: every append still names the revision the state was folded at, so a stream that
 * moved meanwhile (another process, a direct append) fails the append and is caught up from the store
 * (see handleCommand). Bounded, least recently used out first.
 */
export class AggregateCache {
  private readonly entries: LruMap<string, { decider: object; state: unknown; revision: bigint }>;

  constructor(maxEntries = 10_000) {
    this.entries = new LruMap(maxEntries);
  }

  get<State>(decider: object, streamId: string): { state: State; revision: bigint } | undefined {
    const entry = this.entries.get(streamId);
    if (!entry || entry.decider !== decider) return undefined;
    return { state: entry.state as State, revision: entry.revision };
  }

  set(decider: object, streamId: string, state: unknown, revision: bigint): void {
    this.entries.set(streamId, { decider, state, revision });
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }
}
