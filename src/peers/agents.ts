import { uuidv7 } from '../../adapters/ids.ts';
import { peerDecider, type PeerCommand } from '../../domain/peers/decide.ts';
import { peerStreamId, type PeerKind } from '../../domain/peers/events.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import { randomToken } from '../x402/secrets.ts';
import type { PeerContext } from './context.ts';
import { hashToken, newRefreshToken } from './tokens.ts';

/** Use cases of the peer API: register, refresh (rotating), wallet, withdraw. */

export interface RegisterInput {
  name: string;
  type: string;
  connectionMethod?: string | undefined;
  sdkVersion?: string | undefined;
  walletAddress?: string | undefined;
  accountId: string | null;
}

const SDK_TYPES = new Set(['android', 'ios', 'sdk', 'android-sdk']);

/** SDK devices (app-embedded) have the $10 minimum; everything else is an agent ($5). */
export function peerKind(input: Pick<RegisterInput, 'type' | 'connectionMethod'>): PeerKind {
  return SDK_TYPES.has(input.type.toLowerCase()) || input.connectionMethod?.toLowerCase() === 'sdk' ? 'sdk' : 'agent';
}

export async function registerPeer(ctx: PeerContext, input: RegisterInput, origin: CommandOrigin) {
  const kind = peerKind(input);
  const deviceId = `${kind === 'sdk' ? 'sdk' : 'agent'}_${randomToken(20)}`;
  const refreshToken = newRefreshToken();
  const handled = await handleCommand(ctx.infra, peerDecider, peerStreamId(deviceId), {
    type: 'RegisterPeer',
    data: {
      deviceId, name: input.name, peerType: input.type, kind, connectionMethod: input.connectionMethod ?? null, sdkVersion: input.sdkVersion ?? null,
      walletAddress: input.walletAddress ?? null, accountId: input.accountId, refreshTokenHash: hashToken(refreshToken),
    },
  }, origin);
  const { jwt, expiresAt } = await ctx.tokens.sign(deviceId);
  return { deviceId, kind, jwt, expiresAt, refreshToken, position: handled.position };
}

/** The presented refresh token is spent; a new one is issued with a new JWT. */
export async function refreshPeer(ctx: PeerContext, deviceId: string, presented: string, origin: CommandOrigin) {
  const refreshToken = newRefreshToken();
  const handled = await handleCommand(ctx.infra, peerDecider, peerStreamId(deviceId), {
    type: 'RefreshPeerToken', data: { presentedHash: hashToken(presented), refreshTokenHash: hashToken(refreshToken) },
  }, origin);
  const { jwt, expiresAt } = await ctx.tokens.sign(deviceId);
  return { jwt, expiresAt, refreshToken, position: handled.position };
}

export const peerCommand = (ctx: PeerContext, deviceId: string, command: PeerCommand, origin: CommandOrigin) =>
  handleCommand(ctx.infra, peerDecider, peerStreamId(deviceId), command, origin);

export async function requestWithdrawal(ctx: PeerContext, deviceId: string, origin: CommandOrigin) {
  const payoutId = uuidv7(ctx.infra.clock.now().getTime());
  const handled = await peerCommand(ctx, deviceId, { type: 'RequestWithdrawal', data: { payoutId, needsApproval: ctx.infra.config.PEER_PAYOUT_APPROVAL === 'manual' } }, origin);
  return { payoutId, handled };
}
