/**
 * The pool score of a proxy (0–1), recomputed at each check from its running numbers:
 *
 *   score = 0.4 · recent + 0.3 · uptime + 0.3 · speed
 *
 *   recent  exponentially weighted pass rate, each check weighing RECENT_WEIGHT (0.3): recency —
 *           the last few checks count most, so a proxy that just died falls fast
 *   uptime  passed checks / all checks (uptime_pct / 100)
 *   speed   1 − avg_latency_ms / 5000, clamped to 0–1 (latency of passed checks, EWMA)
 *
 * A proxy whose last check failed is `dead` and its score is halved, so live proxies rank first.
 */
export const RECENT_WEIGHT = 0.3;
export const LATENCY_WEIGHT = 0.3;
export const SLOW_LATENCY_MS = 5000;

export interface ScoreState {
  checksTotal: number;
  checksPassed: number;
  recent: number;
  avgLatencyMs: number | null;
  lastPassed: boolean | null;
}

export const initialScoreState = (): ScoreState => ({ checksTotal: 0, checksPassed: 0, recent: 0, avgLatencyMs: null, lastPassed: null });

export function observe(state: ScoreState, passed: boolean, latencyMs: number | null): ScoreState {
  const recent = state.checksTotal === 0 ? (passed ? 1 : 0) : state.recent * (1 - RECENT_WEIGHT) + (passed ? RECENT_WEIGHT : 0);
  const avgLatencyMs = passed && latencyMs !== null
    ? state.avgLatencyMs === null ? latencyMs : state.avgLatencyMs * (1 - LATENCY_WEIGHT) + latencyMs * LATENCY_WEIGHT
    : state.avgLatencyMs;
  return { checksTotal: state.checksTotal + 1, checksPassed: state.checksPassed + (passed ? 1 : 0), recent, avgLatencyMs, lastPassed: passed };
}

export const uptimePct = (s: ScoreState) => (s.checksTotal === 0 ? null : (100 * s.checksPassed) / s.checksTotal);

export function score(s: ScoreState): number {
  if (s.checksTotal === 0) return 0;
  const speed = s.avgLatencyMs === null ? 0 : Math.min(1, Math.max(0, 1 - s.avgLatencyMs / SLOW_LATENCY_MS));
  const raw = 0.4 * s.recent + 0.3 * (s.checksPassed / s.checksTotal) + 0.3 * speed;
  return Math.round((s.lastPassed ? raw : raw / 2) * 10_000) / 10_000;
}

export type ProxyStatus = 'active' | 'dead' | 'unchecked';
export const statusOf = (s: ScoreState): ProxyStatus => (s.lastPassed === null ? 'unchecked' : s.lastPassed ? 'active' : 'dead');

/**
 * When to check again: live proxies every `activeSeconds`; dead ones back off, doubling from
 * `deadBaseSeconds` with each consecutive failure up to `deadMaxSeconds`.
 */
export function recheckDelaySeconds(passed: boolean, consecutiveFailures: number, policy: { activeSeconds: number; deadBaseSeconds: number; deadMaxSeconds: number }): number {
  if (passed) return policy.activeSeconds;
  const n = Math.max(1, consecutiveFailures);
  return Math.min(policy.deadMaxSeconds, policy.deadBaseSeconds * 2 ** Math.min(n - 1, 30));
}
