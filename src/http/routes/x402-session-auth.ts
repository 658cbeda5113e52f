import type { Request } from 'express';
import { findSessionByTokenHash, type SessionRow } from '../../../projections/sessions.ts';
import type { Infrastructure } from '../../infrastructure.ts';
import { sha256Hex } from '../../x402/secrets.ts';
import { ApiError } from '../errors.ts';

/**
 * X-Session-Token: missing → 400 (as the seed says), unknown → 401. The official MCP server's POST tools (replace,
 * top-up) put their headers into the query string by mistake, so `?X-Session-Token=` is taken too (the header wins;
 * request logs redact query strings).
 */
export async function sessionFromToken(infra: Infrastructure, req: Request): Promise<SessionRow> {
  const fromQuery = req.query['X-Session-Token'];
  const token = req.header('x-session-token') ?? (typeof fromQuery === 'string' ? fromQuery : undefined);
  if (!token) throw new ApiError(400, 'SESSION_TOKEN_REQUIRED', 'send the session token from your purchase in the X-Session-Token header (x402s_…)');
  if (!/^x402s_[a-z0-9]{20,100}$/.test(token)) throw new ApiError(401, 'SESSION_TOKEN_INVALID', 'this is not a session token (they look like x402s_…)');
  const session = await findSessionByTokenHash(infra.database.db, sha256Hex(token));
  if (!session) throw new ApiError(401, 'SESSION_TOKEN_INVALID', 'no session has this token');
  return session;
}

/** 5 requests a minute per session for the endpoints that change things (seed rule). */
export async function limitPerSession(infra: Infrastructure, session: SessionRow, action: string, perMinute = 5): Promise<void> {
  const count = await infra.kv.increment(`rl:${action}:${session.session_id}`, 60_000);
  if (count > perMinute) throw new ApiError(429, 'RATE_LIMITED', `at most ${perMinute} ${action} requests a minute per session`, { retryAfterSeconds: 60 });
}
