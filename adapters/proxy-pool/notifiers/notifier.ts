/** A notification: `event` is a dotted name (proxy.pool_low, credits.purchased, …). */
export interface PoolNotification { event: string; occurred_at: string; data: Record<string, unknown> }

/** A notifier plugin: subscribed to event patterns, reports whether its last delivery worked. */
export interface Notifier {
  readonly name: string;
  readonly subscribesTo: readonly string[];
  readonly healthy: boolean;
  send(notification: PoolNotification): Promise<void>;
}

/** `*` matches everything, `credits.*` a prefix, anything else exactly. */
export function matches(patterns: readonly string[], event: string): boolean {
  return patterns.some((p) => p === '*' || p === event || (p.endsWith('.*') && event.startsWith(p.slice(0, -1))));
}

export const patternsOf = (csv: string) => csv.split(',').map((s) => s.trim()).filter(Boolean);
