/**
 * The shape every bounded context follows (as in emmett): a pure decide(command, state, context)
 * that returns the events to append, and a pure evolve(state, event) that folds them.
 * `context` carries what the outside world must supply: the time and freshly made ids.
 */
export interface DecisionContext {
  now: Date;
  newId: () => string;
}

export interface Decider<Command, Event, State> {
  decide(command: Command, state: State, context: DecisionContext): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export function fold<Event, State>(decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>, events: Iterable<Event>): State {
  let state = decider.initialState();
  for (const event of events) state = decider.evolve(state, event);
  return state;
}
