import type { DecisionContext } from '../shared/decider.ts';
import { assertNever } from '../shared/errors.ts';

/**
 * The pool's health alert (stream `pp-pool-health`): proxy.pool_low is raised once when the active
 * proxies fall below the threshold, and again only after the pool recovered in between.
 */
export type PoolHealthEvent =
  | { type: 'PoolLowDetected'; data: { active: number; threshold: number; detectedAt: string } }
  | { type: 'PoolRecovered'; data: { active: number; threshold: number; recoveredAt: string } };

export type PoolHealthState = { low: boolean };
export type PoolHealthCommand = { type: 'ObservePool'; data: { active: number; threshold: number } };

export const poolHealthStreamId = 'pp-pool-health';

export const poolHealthDecider = {
  initialState: (): PoolHealthState => ({ low: false }),
  evolve(_state: PoolHealthState, event: PoolHealthEvent): PoolHealthState {
    switch (event.type) {
      case 'PoolLowDetected': return { low: true };
      case 'PoolRecovered': return { low: false };
      default: return assertNever(event);
    }
  },
  decide(command: PoolHealthCommand, state: PoolHealthState, { now }: DecisionContext): PoolHealthEvent[] {
    const { active, threshold } = command.data;
    const low = active < threshold;
    if (low && !state.low) return [{ type: 'PoolLowDetected', data: { active, threshold, detectedAt: now.toISOString() } }];
    if (!low && state.low) return [{ type: 'PoolRecovered', data: { active, threshold, recoveredAt: now.toISOString() } }];
    return [];
  },
};
