import type { DecisionContext } from '../shared/decider.ts';
import { assertNever } from '../shared/errors.ts';

/** The agent registry: AI agents announce their wallet and how they like to be served. */
export interface AgentProfile {
  wallet: string;
  network: 'base' | 'solana';
  name: string | null;
  description: string | null;
  preferences: { country: string | null; tier: 'shared' | 'private' | null };
}

export type AgentEvent =
  | { type: 'AgentRegistered'; data: AgentProfile & { registeredAt: string } }
  | { type: 'AgentProfileUpdated'; data: AgentProfile & { updatedAt: string } };

export type AgentState = { status: 'unknown' } | { status: 'registered'; profile: AgentProfile; registeredAt: string };
export type AgentCommand = { type: 'RegisterAgent'; data: AgentProfile };

/** EVM addresses are case-insensitive; Solana addresses are not. */
export const normaliseWallet = (wallet: string) => (/^0x[0-9a-fA-F]{40}$/.test(wallet) ? wallet.toLowerCase() : wallet);
export const agentStreamId = (wallet: string) => `agent-${normaliseWallet(wallet)}`;

export const agentDecider = {
  initialState: (): AgentState => ({ status: 'unknown' }),
  evolve(state: AgentState, event: AgentEvent): AgentState {
    switch (event.type) {
      case 'AgentRegistered': {
        const { registeredAt, ...profile } = event.data;
        return { status: 'registered', profile, registeredAt };
      }
      case 'AgentProfileUpdated': {
        const { updatedAt: _u, ...profile } = event.data;
        return state.status === 'registered' ? { ...state, profile } : state;
      }
      default:
        return assertNever(event);
    }
  },
  /** Registering again updates the profile; an identical registration changes nothing. */
  decide(command: AgentCommand, state: AgentState, { now }: DecisionContext): AgentEvent[] {
    const profile = { ...command.data, wallet: normaliseWallet(command.data.wallet) };
    if (state.status === 'unknown') return [{ type: 'AgentRegistered', data: { ...profile, registeredAt: now.toISOString() } }];
    if (JSON.stringify(state.profile) === JSON.stringify(profile)) return [];
    return [{ type: 'AgentProfileUpdated', data: { ...profile, updatedAt: now.toISOString() } }];
  },
};
