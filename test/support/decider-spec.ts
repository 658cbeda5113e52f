import { expect } from 'chai';
import type { DecisionContext, Decider } from '../../domain/shared/decider.ts';
import { DomainError } from '../../domain/shared/errors.ts';

/**
 * given(events) / when(command) / then(events | error) for pure deciders, as in emmett's DeciderSpecification.
 * The clock and ids are fixed, so expectations are exact.
 */
export function deciderSpec<C, E, S>(decider: Decider<C, E, S>, context: Partial<DecisionContext> = {}) {
  let counter = 0;
  const ctx: DecisionContext = {
    now: context.now ?? new Date('2026-11-20T12:00:00.000Z'),
    newId: context.newId ?? (() => `id-${++counter}`),
  };
  return (given: E[]) => ({
    when: (command: C) => {
      const run = () => decider.decide(command, given.reduce(decider.evolve, decider.initialState()), ctx);
      return {
        then(expected: E[]) {
          expect(run()).to.deep.equal(expected);
        },
        thenThrows(code: string, kind?: DomainError['kind']) {
          let error: unknown;
          try { run(); } catch (e) { error = e; }
          expect(error, `expected ${code}`).to.be.instanceOf(DomainError);
          expect((error as DomainError).code).to.equal(code);
          if (kind) expect((error as DomainError).kind).to.equal(kind);
        },
      };
    },
  });
}
