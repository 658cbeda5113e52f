import { timingSafeEqual } from 'node:crypto';
import { parsePoolUsername, type ParsedUsername } from '../../domain/gateway/username.ts';
import { findPoolAccount, type PoolAccountRow } from '../../projections/pool-accounts.ts';
import { findPortByUsername, findSession, type PortRow, type SessionRow } from '../../projections/sessions.ts';
import type { GatewayFailure } from '../../adapters/gateway/brain.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { sha256Hex } from '../x402/secrets.ts';
import { isAccountId, resolveAccountPool, resolveAccountPort, type AccountCredential } from './account-credentials.ts';
import type { PakAccess, PakCredential } from './pak.ts';

export type Credential =
  | { kind: 'port'; port: PortRow; session: SessionRow; totalBytes: bigint; usedBytes: bigint }
  | { kind: 'pool'; account: PoolAccountRow; parsed: ParsedUsername; totalBytes: bigint; usedBytes: bigint }
  | AccountCredential
  | PakCredential;

const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const invalid = (message: string): { ok: false; failure: GatewayFailure } => ({ ok: false, failure: { code: 'E_AUTH_INVALID', message } });

/**
 * Who is this? x402 port credentials (x402_… / password) reach that port's modem; pool credentials
 * (psx_<account>-<pool>-<country>… / password) reach the pool. Only hashes are compared.
 */
export async function resolveCredential(infra: Infrastructure, username: string, password: string, pak?: { access: PakAccess; clientAddress: string }): Promise<{ ok: true; credential: Credential } | { ok: false; failure: GatewayFailure }> {
  const now = infra.clock.now().getTime();
  if (username.startsWith('x402_')) {
    const port = await findPortByUsername(infra.database.db, username);
    if (!port || !sameHash(sha256Hex(password), port.password_hash)) return invalid('bad credentials');
    if (port.status !== 'active') return invalid('this port was replaced or released; use the credentials of the new port');
    const session = await findSession(infra.database.db, port.session_id);
    if (!session || session.status !== 'active' || new Date(session.expires_at).getTime() <= now) return invalid('the session has expired; buy or top up');
    return { ok: true, credential: { kind: 'port', port, session, totalBytes: BigInt(session.traffic_bytes), usedBytes: BigInt(session.traffic_used_bytes) } };
  }
  // an account port's own login (seed 002: proxyLogin / proxyPassword)
  if (!username.startsWith('psx_')) { const own = await resolveAccountPort(infra, username, password); if (own) return own; }
  const parsed = parsePoolUsername(username, { maxTtlSeconds: 3600 });
  if (parsed.ok && isAccountId(parsed.value.account) && !password.startsWith('pak_')) return resolveAccountPool(infra, parsed.value, password);
  if (!parsed.ok) return parsed.notPool ? invalid('bad credentials') : { ok: false, failure: { code: 'E_USERNAME_PARSE', message: parsed.error.message } };
  // a reseller's pool-access key: the reseller's username, the customer's pak_ as the password
  if (password.startsWith('pak_')) return pak ? pak.access.resolve(parsed.value, password, pak.clientAddress) : invalid('pak_ pool-access keys are not accepted by this gateway');
  const account = await findPoolAccount(infra.database.db, parsed.value.account);
  if (!account || !sameHash(sha256Hex(password), account.password_hash)) return invalid('bad credentials');
  return { ok: true, credential: { kind: 'pool', account, parsed: parsed.value, totalBytes: BigInt(account.traffic_bytes), usedBytes: BigInt(account.traffic_used_bytes) } };
}
