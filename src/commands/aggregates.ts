/**
 * The last state this process folded for a stream, kept so the next command on it needs no read. It is
 * only ever a guess: every append still names the revision the state was folded at, so a stream that
 * moved meanwhile (another process, a direct append) fails the append and is caught up from the store
 * (see handleCommand). Bounded, least recently used out first.
 */
export class AggregateCache {
  private readonly entries = new Map<string, { decider: object; state: unknown; revision: bigint }>();

  constructor(private readonly maxEntries = 10_000) {}

  get<State>(decider: object, streamId: string): { state: State; revision: bigint } | undefined {
    const entry = this.entries.get(streamId);
    if (!entry || entry.decider !== decider) return undefined;
    this.entries.delete(streamId); // re-inserted: the Map's order is the recency order
    this.entries.set(streamId, entry);
    return { state: entry.state as State, revision: entry.revision };
  }

  set(decider: object, streamId: string, state: unknown, revision: bigint): void {
    this.entries.delete(streamId);
    this.entries.set(streamId, { decider, state, revision });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }

  get size(): number {
    return this.entries.size;
  }
}
