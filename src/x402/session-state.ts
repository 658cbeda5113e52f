import { sessionDecider } from '../../domain/sessions/decide.ts';
import { sessionStreamId } from '../../domain/sessions/events.ts';
import type { SessionState } from '../../domain/sessions/state.ts';
import type { Infrastructure } from '../infrastructure.ts';

/** The session as its stream says now (the read model may lag a write behind). */
export async function loadSession(infra: Infrastructure, sessionId: string): Promise<SessionState> {
  let state = sessionDecider.initialState();
  for await (const e of infra.store.readStream(sessionStreamId(sessionId))) {
    state = sessionDecider.evolve(state, { type: e.type, data: e.data } as Parameters<typeof sessionDecider.evolve>[1]);
  }
  return state;
}
