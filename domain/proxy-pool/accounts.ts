import type { DecisionContext } from '../shared/decider.ts';
import { DomainError, assertNever } from '../shared/errors.ts';

/**
 * Proxy-pool users (seed 003) and their `pp_` API keys. A key is shown once; events and read models
 * hold only its sha256 and its first characters (the prefix a user recognises it by).
 * Stream: `pp-user-<userId>`. Email uniqueness is a claim stream (`pp-email-<hash>`, no_stream).
 */
export type PoolUserEvent =
  | { type: 'PoolUserRegistered'; data: { userId: string; email: string; displayName: string; registeredAt: string } }
  | { type: 'PoolApiKeyCreated'; data: { userId: string; keyId: string; keyHash: string; prefix: string; label: string; createdAt: string } }
  | { type: 'PoolApiKeyRevoked'; data: { userId: string; keyId: string; revokedAt: string } };

export type PoolEmailClaimed = { type: 'PoolEmailClaimed'; data: { emailHash: string; userId: string; claimedAt: string } };

export type PoolUserState =
  | { status: 'none' }
  | { status: 'registered'; userId: string; keys: Map<string, { revoked: boolean }> };

export type PoolUserCommand =
  | { type: 'RegisterPoolUser'; data: { userId: string; email: string; displayName: string; key: NewKey } }
  | { type: 'CreatePoolApiKey'; data: { key: NewKey } }
  | { type: 'RevokePoolApiKey'; data: { keyId: string } };

export interface NewKey { keyId: string; keyHash: string; prefix: string; label: string }

/** A user may hold this many live keys; enough for rotation, small enough to list. */
export const MAX_LIVE_KEYS = 20;

export const poolUserStreamId = (userId: string) => `pp-user-${userId}`;
export const poolEmailStreamId = (emailHash: string) => `pp-email-${emailHash}`;

export const poolUserDecider = {
  initialState: (): PoolUserState => ({ status: 'none' }),

  evolve(state: PoolUserState, event: PoolUserEvent): PoolUserState {
    switch (event.type) {
      case 'PoolUserRegistered':
        return { status: 'registered', userId: event.data.userId, keys: new Map() };
      case 'PoolApiKeyCreated':
        if (state.status !== 'registered') return state;
        return { ...state, keys: new Map(state.keys).set(event.data.keyId, { revoked: false }) };
      case 'PoolApiKeyRevoked':
        if (state.status !== 'registered') return state;
        return { ...state, keys: new Map(state.keys).set(event.data.keyId, { revoked: true }) };
      default:
        return assertNever(event);
    }
  },

  decide(command: PoolUserCommand, state: PoolUserState, { now }: DecisionContext): PoolUserEvent[] {
    const at = now.toISOString();
    switch (command.type) {
      case 'RegisterPoolUser': {
        if (state.status !== 'none') throw new DomainError('conflict', 'USER_EXISTS', 'this user is already registered');
        const { userId, email, displayName, key } = command.data;
        return [
          { type: 'PoolUserRegistered', data: { userId, email, displayName, registeredAt: at } },
          { type: 'PoolApiKeyCreated', data: { userId, ...key, createdAt: at } },
        ];
      }
      case 'CreatePoolApiKey': {
        const user = requireUser(state);
        const live = [...user.keys.values()].filter((k) => !k.revoked).length;
        if (live >= MAX_LIVE_KEYS) throw new DomainError('conflict', 'TOO_MANY_KEYS', `a user may hold at most ${MAX_LIVE_KEYS} live keys; revoke one first`);
        return [{ type: 'PoolApiKeyCreated', data: { userId: user.userId, ...command.data.key, createdAt: at } }];
      }
      case 'RevokePoolApiKey': {
        const user = requireUser(state);
        const key = user.keys.get(command.data.keyId);
        if (!key) throw new DomainError('not_found', 'KEY_NOT_FOUND', 'no such API key');
        if (key.revoked) return []; // revoking twice is the same as once
        return [{ type: 'PoolApiKeyRevoked', data: { userId: user.userId, keyId: command.data.keyId, revokedAt: at } }];
      }
      default:
        return assertNever(command);
    }
  },
};

/** The email claim: the first registration with an address wins, concurrently too. */
export const poolEmailDecider = {
  initialState: (): { claimedBy: string | null } => ({ claimedBy: null }),
  evolve: (_s: { claimedBy: string | null }, e: PoolEmailClaimed) => ({ claimedBy: e.data.userId }),
  decide(command: { type: 'ClaimPoolEmail'; data: { emailHash: string; userId: string } }, state: { claimedBy: string | null }, { now }: DecisionContext): PoolEmailClaimed[] {
    if (state.claimedBy) throw new DomainError('conflict', 'EMAIL_TAKEN', 'an account with this email exists');
    return [{ type: 'PoolEmailClaimed', data: { ...command.data, claimedAt: now.toISOString() } }];
  },
};

function requireUser(state: PoolUserState): Extract<PoolUserState, { status: 'registered' }> {
  if (state.status !== 'registered') throw new DomainError('not_found', 'USER_NOT_FOUND', 'no such user');
  return state;
}
