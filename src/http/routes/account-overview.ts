import { Router, type Request } from 'express';
import { z } from 'zod';
import { balanceOf, findAccount, slotTotals, type AccountRow } from '../../../projections/accounts.ts';
import { usageSince, usedBytesBySlotType } from '../../../projections/account-usage.ts';
import { runAccountCommand, type AccountsContext } from '../../accounts/context.ts';
import { randomToken, sha256Hex } from '../../x402/secrets.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { gb, iso, usd, userView, walletView } from '../account-views.ts';
import { parse } from '../validate.ts';
import { LOW_TRAFFIC_SHARE, NEARING_EXPIRATION_DAYS } from '../../../domain/accounts/notifications.ts';
import { gatewayAddress } from '../x402-views.ts';

export const usageQuery = z.object({ period: z.enum(['7d', '30d', '90d']).default('30d') });
const DAY = 86_400_000;
/** Thresholds of the status flags and alerts. */
export const LOW_BALANCE_MICRO = 5_000_000n;

/** Everything the account views read, computed once from the read models. */
export async function accountSnapshot(ctx: AccountsContext, a: AccountRow) {
  const db = ctx.infra.database.db;
  const now = ctx.infra.clock.now();
  const slots = await slotTotals(db, a.account_id, now);
  const used = await usedBytesBySlotType(db, a.account_id);
  const tier = (t: 'shared' | 'private') => {
    const purchased = BigInt(t === 'shared' ? a.traffic_shared_bytes : a.traffic_private_bytes);
    const u = used[t];
    const total = slots[t].total;
    const inUse = t === 'shared' ? a.slots_used_shared : a.slots_used_private;
    const expiresAt = slots[t].expiresAt ? new Date(slots[t].expiresAt!) : null;
    return {
      purchased, used: u, available: purchased > u ? purchased - u : 0n,
      slots: { total, used: inUse, available: Math.max(0, total - inUse) },
      expiresAt, daysRemaining: expiresAt ? Math.max(0, Math.ceil((expiresAt.getTime() - now.getTime()) / DAY)) : 0,
    };
  };
  const shared = tier('shared'), priv = tier('private');
  const lowTraffic = (x: typeof shared) => x.purchased > 0n && Number(x.available) < Number(x.purchased) * LOW_TRAFFIC_SHARE;
  const nearing = (x: typeof shared) => x.expiresAt !== null && x.daysRemaining <= NEARING_EXPIRATION_DAYS;
  const flags = {
    hasActiveSubscription: shared.slots.total + priv.slots.total > 0,
    hasAvailableSlots: shared.slots.available + priv.slots.available > 0,
    hasAvailableTraffic: shared.available + priv.available > 0n,
    lowBalance: balanceOf(a) < LOW_BALANCE_MICRO,
    lowTraffic: lowTraffic(shared) || lowTraffic(priv),
    nearingExpiration: nearing(shared) || nearing(priv),
  };
  const alerts = [
    ...(flags.lowBalance ? [{ type: 'low_balance', message: 'Balance is running low', severity: 'warning' }] : []),
    ...(flags.lowTraffic ? [{ type: 'low_traffic', message: 'Traffic is running low', severity: 'info' }] : []),
    ...(flags.nearingExpiration ? [{ type: 'expiring_slots', message: `Port slots expire within ${NEARING_EXPIRATION_DAYS} days`, severity: 'warning' }] : []),
    ...(!flags.hasAvailableTraffic && flags.hasActiveSubscription ? [{ type: 'no_traffic', message: 'No traffic left: buy traffic to use your ports', severity: 'critical' }] : []),
  ];
  return { shared, priv, flags, alerts };
}

/** /v1/account, /v1/account/summary, /v1/account/usage, and the account's pool gateway password. */
export function accountOverviewRouter(ctx: AccountsContext): Router {
  const router = Router();
  const db = ctx.infra.database.db;
  router.use('/v1/account', authenticate(ctx));
  const account = async (req: Request) => (await findAccount(db, principalOf(req).accountId))!;
  const traffic = (x: { purchased: bigint; used: bigint; available: bigint }) => ({ purchasedGB: gb(x.purchased), usedGB: gb(x.used), availableGB: gb(x.available) });

  router.get('/v1/account', requireScope('account:read'), async (req, res) => {
    const a = await account(req);
    const s = await accountSnapshot(ctx, a);
    const sub = (x: typeof s.shared) => ({ active: x.slots.total > 0, slots: x.slots, traffic: traffic(x), expiresAt: iso(x.expiresAt), daysRemaining: x.daysRemaining });
    res.json({ user: userView(a), wallet: walletView(a), subscription: { shared: sub(s.shared), private: sub(s.priv) }, status: s.flags, alerts: s.alerts });
  });

  router.get('/v1/account/summary', requireScope('account:read'), async (req, res) => {
    const a = await account(req);
    const s = await accountSnapshot(ctx, a);
    const part = (x: typeof s.shared) => ({ slots: x.slots, trafficGB: { total: gb(x.purchased), used: gb(x.used), available: gb(x.available) }, expiresAt: iso(x.expiresAt), daysRemaining: x.daysRemaining });
    res.json({ email: a.email, balance: usd(balanceOf(a)), balanceMicro: balanceOf(a).toString(), totalSpent: usd(BigInt(a.spent_micro)), currency: 'USD', shared: part(s.shared), private: part(s.priv), alerts: s.alerts });
  });

  router.get('/v1/account/usage', requireScope('traffic:read'), async (req, res) => {
    const { period } = parse(usageQuery, req.query);
    const now = ctx.infra.clock.now();
    const from = new Date(now.getTime() - Number(period.replace('d', '')) * DAY);
    const u = await usageSince(db, principalOf(req).accountId, from);
    const part = (t: 'shared' | 'private') => {
      const ports = u.ports.filter((p) => p.slot_type === t);
      const bytes = ports.reduce((n, p) => n + BigInt(p.bytes), 0n) + (t === 'shared' ? u.poolBytes + u.pakBytes : 0n);
      return { totalUsedGB: gb(bytes), totalUsedBytes: bytes.toString(), portCount: ports.length, byPort: ports.map((p) => ({ portId: p.port_id, portName: p.display_name, usedGB: gb(BigInt(p.bytes)), usedBytes: p.bytes })) };
    };
    const shared = part('shared'), priv = part('private');
    const all = BigInt(shared.totalUsedBytes) + BigInt(priv.totalUsedBytes);
    res.json({ period, generatedAt: now.toISOString(), traffic: { shared: { ...shared, poolUsedGB: gb(u.poolBytes), pakUsedGB: gb(u.pakBytes), pakUsedBytes: u.pakBytes.toString() }, private: priv, combined: { totalUsedGB: gb(all), totalUsedBytes: all.toString(), portCount: shared.portCount + priv.portCount } } });
  });

  const poolConnection = (accountId: string, password: string) => {
    const { host, httpPort, socksPort } = gatewayAddress(ctx.infra.config);
    const user = `psx_${accountId}-mbl-us`;
    return { username: user, password, host, httpPort, socksPort, http: `http://${user}:${password}@${host}:${httpPort}`, socks5: `socks5://${user}:${password}@${host}:${socksPort}`, grammar: 'psx_<accountId>-mbl-<country>[-sid-…][-rot-…]' };
  };
  router.get('/v1/account/pool', requireScope('account:read'), async (req, res) => {
    const a = await account(req);
    res.json({ ...poolConnection(a.account_id, a.pool_password_hash ? 'YOUR_POOL_PASSWORD' : 'NOT_SET'), passwordSet: a.pool_password_hash !== null, note: 'POST /v1/account/pool/password issues a (new) pool password; it spends your shared traffic' });
  });
  router.post('/v1/account/pool/password', requireScope('account:write'), async (req, res) => {
    const p = principalOf(req);
    const password = randomToken(24);
    await runAccountCommand(ctx, p.accountId, { type: 'SetPoolPassword', data: { passwordHash: sha256Hex(password) } }, { actor: `account:${p.accountId}`, correlationId: req.id });
    ctx.infra.events.emit('pool-password-changed', p.accountId);
    res.json({ success: true, ...poolConnection(p.accountId, password) });
  });

  return router;
}
