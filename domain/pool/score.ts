/**
 * The pool score: how good a modem is for the next customer connection, from its health reports.
 *
 * Kept as a small running state so a projection can fold it report by report (no history scan):
 *
 *   success      S = EWMA(α 0.20) of outcome (online 1, offline 0), prior 1   — reacts within a few reports
 *   uptime       U = EWMA(α 0.05) of the same outcome, prior 1                — ~20-report memory: long-run share online
 *   latency      L = EWMA(α 0.20) of latencyMs over online reports carrying one; the first one seeds it
 *                λ(L) = 1 at ≤ 300 ms, 0 at ≥ 5 000 ms, log-linear between: 1 − ln(L/300) / ln(5000/300)
 *                (users feel ratios, not milliseconds: 300→600 ms hurts as much as 2.5→5 s); unknown → 0.5
 *   IP stability P = EWMA(α 0.20) of "same egress IP as the previous online report that had one" (1/0), prior 1;
 *                sticky users lose their identity when the IP moves
 *
 *   score = 0.45·S + 0.25·λ(L) + 0.15·U + 0.15·P        ∈ [0, 1]
 *
 * Gate: the score is 0 — never chosen — while the latest report says offline, and before any report said
 * online (a registered modem nobody has reached yet is unproven). A run of failed reports is therefore
 * always 0 (its latest is a failure), and recovery starts from the lowered S and U, so a flapping modem
 * climbs back gradually. An online device always scores ≥ 0.45·0.2 > 0, so "score > 0" means eligible.
 *
 * The priors of 1 follow the fleet's rule that a registered modem is presumed up: early failures lower a
 * new device's score without wiping it out, and its first good reports put it level with proven ones.
 */

export const SCORE_WEIGHTS = { success: 0.45, latency: 0.25, uptime: 0.15, ipStability: 0.15 } as const;

export const ALPHA = { success: 0.2, uptime: 0.05, latency: 0.2, ipStability: 0.2 } as const;

/** λ(ms) is 1 up to here… */
export const LATENCY_GOOD_MS = 300;
/** …and 0 from here on. */
export const LATENCY_BAD_MS = 5000;
/** λ of a device whose latency was never measured: neither rewarded nor punished. */
export const LATENCY_UNKNOWN_SCORE = 0.5;

/** What the score needs from a DeviceHealthReported. */
export interface HealthReport {
  online: boolean;
  latencyMs: number | null;
  ip: string | null;
}

export interface ScoreState {
  /** The latest report's verdict; false until the first report (unproven). */
  online: boolean;
  success: number;
  uptime: number;
  /** EWMA of latencyMs; null until an online report carried a latency. */
  latencyMs: number | null;
  ipStability: number;
  /** Egress IP of the latest online report that had one: what the next one is compared with. */
  lastIp: string | null;
}

export interface ScoreComponents {
  success: number;
  latency: number;
  uptime: number;
  ipStability: number;
}

export const initialScoreState = (): ScoreState => ({
  online: false,
  success: 1,
  uptime: 1,
  latencyMs: null,
  ipStability: 1,
  lastIp: null,
});

const ewma = (previous: number, sample: number, alpha: number) => previous + alpha * (sample - previous);

export function evolveScore(state: ScoreState, report: HealthReport): ScoreState {
  const outcome = report.online ? 1 : 0;
  const next: ScoreState = {
    ...state,
    online: report.online,
    success: ewma(state.success, outcome, ALPHA.success),
    uptime: ewma(state.uptime, outcome, ALPHA.uptime),
  };
  // An offline report's latency and IP say nothing about the path customers would use.
  if (!report.online) return next;
  if (report.latencyMs !== null) {
    next.latencyMs = state.latencyMs === null ? report.latencyMs : ewma(state.latencyMs, report.latencyMs, ALPHA.latency);
  }
  if (report.ip !== null) {
    if (state.lastIp !== null) next.ipStability = ewma(state.ipStability, report.ip === state.lastIp ? 1 : 0, ALPHA.ipStability);
    next.lastIp = report.ip;
  }
  return next;
}

/** λ: 1 at ≤ 300 ms, 0 at ≥ 5 s, linear in log(latency) between. */
export function latencyScore(latencyMs: number | null): number {
  if (latencyMs === null) return LATENCY_UNKNOWN_SCORE;
  if (latencyMs <= LATENCY_GOOD_MS) return 1;
  if (latencyMs >= LATENCY_BAD_MS) return 0;
  return 1 - Math.log(latencyMs / LATENCY_GOOD_MS) / Math.log(LATENCY_BAD_MS / LATENCY_GOOD_MS);
}

export function scoreComponents(state: ScoreState): ScoreComponents {
  return { success: state.success, latency: latencyScore(state.latencyMs), uptime: state.uptime, ipStability: state.ipStability };
}

/** The pool score in [0, 1]; 0 means the device must not be chosen. */
export function scoreOf(state: ScoreState): number {
  if (!state.online) return 0;
  const c = scoreComponents(state);
  const score =
    SCORE_WEIGHTS.success * c.success +
    SCORE_WEIGHTS.latency * c.latency +
    SCORE_WEIGHTS.uptime * c.uptime +
    SCORE_WEIGHTS.ipStability * c.ipStability;
  // The weights sum to 1, but float rounding must not push a perfect device past 1.
  return Math.min(1, Math.max(0, score));
}
