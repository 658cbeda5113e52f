import { objectId } from '../../adapters/ids.ts';
import type { SlotType } from '../../domain/accounts/events.ts';
import { accountPortDecider, proxyLoginDecider, type AccountPortCommand, type LoginEvent } from '../../domain/ports/decide.ts';
import { accountPortStreamId, proxyLoginStreamId, type AccountPortEvent, type OsFingerprint } from '../../domain/ports/events.ts';
import { referenceId } from '../../domain/reference/countries.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import type { Db } from '../../adapters/db/database.ts';
import { findAccountPort, countAccountPortsEver, type AccountPortRow } from '../../projections/account-ports.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { releaseSlot, takeSlot } from '../x402/allocation.ts';
import { randomToken, sha256Hex } from '../x402/secrets.ts';
import { runAccountCommand, type AccountsContext } from './context.ts';

/** The password of a port stays readable this long after it was set (GET /v1/ports shows it), then only its hash remains. */
export const PASSWORD_VISIBLE_MS = 15 * 60_000;
const passwordKey = (portId: string) => `aport-password:${portId}`;
/** The device-slot holder recorded on the device stream for account ports (the x402 orphan sweep leaves these alone). */
export const accountSlotHolder = (accountId: string) => `account-${accountId}`;

/** Devices of a country as the account API names them: carrier and city ids derived from their names. */
export async function fleetPlaces(db: Db, countryCode: string) {
  const rows = await db.selectFrom('fleet_devices').select(['device_id', 'carrier_name', 'carrier_brand', 'city', 'region', 'ip'])
    .where('country_code', '=', countryCode).where('status', '=', 'active').execute();
  return rows.map((r) => ({
    deviceId: r.device_id as string, carrierName: r.carrier_name as string, carrierBrand: r.carrier_brand as string, city: r.city as string | null, ip: r.ip as string | null,
    carrierId: referenceId('carrier', countryCode, r.carrier_name as string),
    cityId: r.city ? referenceId('city', countryCode, r.city as string) : null,
  }));
}

export interface PlacementWish { countryCode: string; carrierId: string | null; cityId: string | null; slotType: SlotType; exclude?: string[] }

/** Takes a device slot for the port that matches the wish (device streams decide, as for x402 ports). */
export async function placeOnFleet(ctx: AccountsContext, accountId: string, portId: string, wish: PlacementWish, origin: CommandOrigin) {
  const places = await fleetPlaces(ctx.infra.database.db, wish.countryCode);
  if (wish.carrierId && !places.some((p) => p.carrierId === wish.carrierId)) throw new DomainError('not_found', 'CARRIER_NOT_FOUND', `no carrier ${wish.carrierId} in ${wish.countryCode}`);
  if (wish.cityId && !places.some((p) => p.cityId === wish.cityId)) throw new DomainError('not_found', 'CITY_NOT_FOUND', `no city ${wish.cityId} in ${wish.countryCode}`);
  const carrier = wish.carrierId ? places.find((p) => p.carrierId === wish.carrierId)!.carrierName : null;
  // takeSlot filters by country and carrier; a city wish excludes the country's devices elsewhere
  const exclude = [...(wish.exclude ?? []), ...(wish.cityId ? places.filter((p) => p.cityId !== wish.cityId).map((p) => p.deviceId) : [])];
  const deviceId = await takeSlot(ctx.infra, { portId, sessionId: accountSlotHolder(accountId), countryCode: wish.countryCode, carrier, tier: wish.slotType, exclude }, origin);
  return deviceId ? { deviceId, place: places.find((p) => p.deviceId === deviceId)! } : null;
}

const noStock = (wish: PlacementWish) =>
  new DomainError('unavailable', 'NO_STOCK', `no ${wish.slotType} device with a free slot in ${wish.countryCode}${wish.carrierId ? ' for this carrier' : ''}${wish.cityId ? ' in this city' : ''} right now`, { country: wish.countryCode });

export interface CreatedPort { portId: string; proxyPassword: string; rotationToken: string }

/**
 * POST /v1/ports: a purchased slot on the account (the account stream decides), then a device slot
 * (the device stream decides; private = an exclusive device per the fleet rule), then the port. Each
 * step that fails gives back what the earlier ones took.
 */
export async function createPort(
  ctx: AccountsContext, accountId: string,
  input: { countryCode: string; carrierId: string | null; cityId: string | null; slotType: SlotType; expiresInSeconds: number; osFingerprint: OsFingerprint },
  origin: CommandOrigin,
): Promise<CreatedPort> {
  const now = ctx.infra.clock.now();
  const portId = objectId(now.getTime());
  await runAccountCommand(ctx, accountId, { type: 'AssignSlot', data: { portId, slotType: input.slotType } }, origin, []);
  const giveBackAccountSlot = () => runAccountCommand(ctx, accountId, { type: 'ReleaseSlot', data: { portId } }, origin, []);
  let placed: Awaited<ReturnType<typeof placeOnFleet>>;
  try {
    placed = await placeOnFleet(ctx, accountId, portId, input, origin);
  } catch (error) {
    await giveBackAccountSlot();
    throw error;
  }
  if (!placed) { await giveBackAccountSlot(); throw noStock(input); }
  const proxyPassword = randomToken(16);
  const rotationToken = randomToken(32);
  const proxyLogin = `user_${accountId.slice(-6)}${randomToken(6)}`;
  const n = (await countAccountPortsEver(ctx.infra.database.db, accountId)) + 1;
  try {
    await handleCommand(ctx.infra, proxyLoginDecider, proxyLoginStreamId(proxyLogin), { type: 'Claim', data: { login: proxyLogin, portId } }, origin);
    const handled = await handleCommand(ctx.infra, accountPortDecider, accountPortStreamId(portId), {
      type: 'CreatePort',
      data: {
        portId, accountId, name: `psx_${accountId.slice(-6)}_${randomToken(6)}`, displayName: `Proxy #${n}`, slotType: input.slotType,
        deviceId: placed.deviceId, countryCode: input.countryCode, carrierId: placed.place.carrierId, cityId: placed.place.cityId,
        proxyLogin, passwordHash: sha256Hex(proxyPassword), rotationTokenHash: sha256Hex(rotationToken), rotationTokenSealed: ctx.sealer.seal(rotationToken),
        osFingerprint: input.osFingerprint, expiresAt: new Date(now.getTime() + input.expiresInSeconds * 1000).toISOString(),
      },
    }, origin);
    await ctx.infra.kv.set(passwordKey(portId), ctx.sealer.seal(proxyPassword), { ttlMs: PASSWORD_VISIBLE_MS });
    await ctx.infra.projector.waitFor(handled.position, ['account-ports', 'accounts'], ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  } catch (error) {
    await releaseSlot(ctx.infra, placed.deviceId, portId, origin);
    await giveBackAccountSlot();
    throw error;
  }
  return { portId, proxyPassword, rotationToken };
}

/** The port if it is the account's (another account's port is a 404, not a 403). */
export async function ownPort(ctx: AccountsContext, accountId: string, portId: string): Promise<AccountPortRow> {
  const row = /^[a-f0-9]{24}$/.test(portId) ? await findAccountPort(ctx.infra.database.db, portId) : undefined;
  if (!row || row.account_id !== accountId || row.status !== 'active') throw new DomainError('not_found', 'PORT_NOT_FOUND', `no port ${portId} on this account`);
  return row;
}

export async function runPortCommand(ctx: AccountsContext, portId: string, command: AccountPortCommand, origin: CommandOrigin) {
  const handled = await handleCommand(ctx.infra, accountPortDecider, accountPortStreamId(portId), command, origin);
  if (handled.position > 0n) await ctx.infra.projector.waitFor(handled.position, ['account-ports', 'account-rotations'], ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return handled;
}

/** DELETE /v1/ports/:id (and the worker, for expired ports): the port goes, then its device slot and account slot. */
export async function deletePort(ctx: AccountsContext, port: AccountPortRow, reason: 'deleted' | 'expired', origin: CommandOrigin) {
  const handled = await runPortCommand(ctx, port.port_id, { type: 'DeletePort', data: { reason } }, origin);
  const deleted = handled.events.find((e) => e.type === 'AccountPortDeleted');
  const deviceId = deleted?.type === 'AccountPortDeleted' ? deleted.data.deviceId : port.device_id;
  await releaseSlot(ctx.infra, deviceId, port.port_id, origin);
  await handleCommand(ctx.infra, proxyLoginDecider, proxyLoginStreamId(port.proxy_login), { type: 'Release', data: { login: port.proxy_login, portId: port.port_id } }, origin);
  await runAccountCommand(ctx, port.account_id, { type: 'ReleaseSlot', data: { portId: port.port_id } }, origin);
  await ctx.infra.kv.del(passwordKey(port.port_id));
  ctx.infra.events.emit('account-port-changed', port.port_id);
}

/**
 * The account worker's heal for a login claim left by a crash (POST /v1/ports between claim and port, DELETE
 * between port deleted and login released, a credentials change between its steps): released once the claim is
 * older than `before` and its port, read from the port's stream, is not a live port going by that login.
 * One conditional event on the claim stream, so a retry that renewed the claim in between keeps it.
 */
export async function releaseStrandedLogin(ctx: AccountsContext, login: string, before: Date, origin: CommandOrigin): Promise<number> {
  let claim = proxyLoginDecider.initialState();
  for await (const e of ctx.infra.store.readStream(proxyLoginStreamId(login))) claim = proxyLoginDecider.evolve(claim, e as unknown as LoginEvent);
  if (!claim.holder || !claim.claimedAt || new Date(claim.claimedAt) >= before) return 0;
  let port = accountPortDecider.initialState();
  for await (const e of ctx.infra.store.readStream(accountPortStreamId(claim.holder))) port = accountPortDecider.evolve(port, e as unknown as AccountPortEvent);
  if (port.status === 'active' && port.proxyLogin === login) return 0;
  const handled = await handleCommand(ctx.infra, proxyLoginDecider, proxyLoginStreamId(login), { type: 'ReleaseStranded', data: { login, portId: claim.holder, claimedAt: claim.claimedAt } }, origin);
  return handled.events.length;
}

/** PUT /v1/ports/:id/credentials: a new login is claimed before the old one is let go. */
export async function changeCredentials(ctx: AccountsContext, port: AccountPortRow, input: { proxyLogin?: string | undefined; proxyPassword?: string | undefined }, origin: CommandOrigin) {
  const login = input.proxyLogin ?? port.proxy_login;
  // a new login alone keeps the password (its hash): clients change one of the two (the official MCP server does)
  const password = input.proxyPassword;
  if (login !== port.proxy_login) await handleCommand(ctx.infra, proxyLoginDecider, proxyLoginStreamId(login), { type: 'Claim', data: { login, portId: port.port_id } }, origin);
  await runPortCommand(ctx, port.port_id, { type: 'ChangeCredentials', data: { proxyLogin: login, passwordHash: password !== undefined ? sha256Hex(password) : port.password_hash } }, origin);
  if (login !== port.proxy_login) await handleCommand(ctx.infra, proxyLoginDecider, proxyLoginStreamId(port.proxy_login), { type: 'Release', data: { login: port.proxy_login, portId: port.port_id } }, origin);
  if (password !== undefined) await ctx.infra.kv.set(passwordKey(port.port_id), ctx.sealer.seal(password), { ttlMs: PASSWORD_VISIBLE_MS });
  ctx.infra.events.emit('account-port-changed', port.port_id);
  return { proxyLogin: login, proxyPassword: password ?? await visiblePassword(ctx, port.port_id) };
}

/** The password while it is still shown (right after create or a credential change), else null. */
export async function visiblePassword(ctx: AccountsContext, portId: string): Promise<string | null> {
  const sealed = await ctx.infra.kv.get(passwordKey(portId));
  return sealed ? ctx.sealer.open(sealed) : null;
}

/** POST|PUT /v1/ports/:id/reconfigure: a device in the new place first, then the port moves, then the old slot is freed. */
export async function reconfigurePort(ctx: AccountsContext, port: AccountPortRow, wish: Omit<PlacementWish, 'slotType'>, origin: CommandOrigin) {
  const full = { ...wish, slotType: port.slot_type, exclude: [port.device_id] };
  const placed = await placeOnFleet(ctx, port.account_id, port.port_id, full, origin);
  if (!placed) throw noStock(full);
  try {
    await runPortCommand(ctx, port.port_id, { type: 'Reconfigure', data: { deviceId: placed.deviceId, countryCode: wish.countryCode, carrierId: placed.place.carrierId, cityId: placed.place.cityId } }, origin);
  } catch (error) {
    await releaseSlot(ctx.infra, placed.deviceId, port.port_id, origin);
    throw error;
  }
  await releaseSlot(ctx.infra, port.device_id, port.port_id, origin);
  ctx.infra.events.emit('account-port-changed', port.port_id);
}
