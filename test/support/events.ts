import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent, RecordedEvent } from '../../adapters/eventstore/port.ts';

export function meta(actor = 'test') {
  return { correlationId: randomUUID(), causationId: null, actor, occurredAt: '2026-01-01T00:00:00.000Z' };
}

export function ev(type: string, data: Record<string, unknown> = {}, id?: string): NewEvent {
  return { ...(id ? { id } : {}), type, data, metadata: meta() };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export function uniqueStream(prefix = 's'): string {
  return `${prefix}-${randomUUID()}`;
}

/** Subscribes and gathers events until `until` says stop (or the timeout fails the test). */
export async function gather(
  store: EventStore,
  options: { fromPosition?: bigint; eventTypes?: string[] },
  until: (events: RecordedEvent[], checkpoint: bigint) => boolean,
  timeoutMs = 10_000,
): Promise<{ events: RecordedEvent[]; checkpoint: bigint }> {
  const events: RecordedEvent[] = [];
  let checkpoint = -1n;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => { finish = resolve; });
  const sub = store.subscribeToAll(options, async (batch) => {
    events.push(...batch.events);
    checkpoint = batch.checkpoint;
    if (until(events, checkpoint)) finish();
  });
  const timer = setTimeout(finish, timeoutMs);
  await Promise.race([finished, sub.done]);
  clearTimeout(timer);
  await sub.stop();
  return { events, checkpoint };
}
