import { findPoolKey, findPoolKeyByHash, listPoolKeys } from '../../projections/pool-keys.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { PAK_SESSION_CLOSED, pakSessionIndexKv, pakSessionKv, pakStickyKv } from '../gateway/pak.ts';
import { pakSynthesizedKv, synthesizedSessions, type ListedSessionRecord } from '../gateway/pak-synthesized.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { sha256Hex } from '../x402/secrets.ts';

/**
 * A reseller's live sessions (the records the gateway keeps in the KeyValue store per pak key): sticky
 * `-sid-` sessions and the synthesized `auto_…` ones of connections without a sid; optionally for one key
 * (its id or its pak_ value). Closing one drops its records and cuts its tunnels.
 */
async function keysOf(infra: Infrastructure, resellerId: string, pakId: string | undefined): Promise<string[]> {
  if (pakId === undefined) return (await listPoolKeys(infra.database.db, resellerId)).map((k) => k.key_id);
  const row = pakId.startsWith('pak_') ? await findPoolKeyByHash(infra.database.db, sha256Hex(pakId)) : await findPoolKey(infra.database.db, pakId);
  if (!row || row.reseller_id !== resellerId) throw new DomainError('not_found', 'POOL_KEY_NOT_FOUND', 'no such pool access key');
  return [row.key_id];
}

export async function listSessions(infra: Infrastructure, resellerId: string, pakId?: string): Promise<ListedSessionRecord[]> {
  const out: ListedSessionRecord[] = [];
  for (const keyId of await keysOf(infra, resellerId, pakId)) {
    const index = await infra.kv.get(pakSessionIndexKv(keyId));
    for (const sid of index ? (JSON.parse(index) as string[]) : []) {
      const stored = await infra.kv.get(pakSessionKv(keyId, sid));
      if (stored) out.push(JSON.parse(stored) as ListedSessionRecord);
    }
    out.push(...(await synthesizedSessions(infra, keyId)));
  }
  return out.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
}

async function close(infra: Infrastructure, keyId: string, sid: string, synthesized: boolean): Promise<void> {
  if (synthesized) await infra.kv.mapDelete(pakSynthesizedKv(keyId), sid);
  else {
    await infra.kv.del(pakSessionKv(keyId, sid));
    await infra.kv.del(pakStickyKv(keyId, sid));
  }
  infra.events.emit(PAK_SESSION_CLOSED, { keyId, sid });
}

export async function closeSession(infra: Infrastructure, resellerId: string, sessionKey: string, pakId?: string): Promise<boolean> {
  const sessions = await listSessions(infra, resellerId, pakId);
  const s = sessions.find((x) => x.sessionKey === sessionKey);
  if (!s) return false;
  await close(infra, s.pakKeyId, s.sessionId, s.synthesized === true);
  return true;
}

export async function closeAllSessions(infra: Infrastructure, resellerId: string, pakId?: string): Promise<number> {
  const sessions = await listSessions(infra, resellerId, pakId);
  for (const s of sessions) await close(infra, s.pakKeyId, s.sessionId, s.synthesized === true);
  return sessions.length;
}
