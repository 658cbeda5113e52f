import type { IpType } from '../../domain/peers/events.ts';
import type { Config } from '../config.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { usdcToMicro } from '../x402/prices.ts';
import { createPeerTokens, type PeerTokens } from './tokens.ts';

/** What the peer use cases need: infrastructure, token keys and the live earnings rates. */
export interface PeerContext {
  infra: Infrastructure;
  tokens: PeerTokens;
  ratesMicroPerGB: Record<IpType, bigint>;
  relayPublicUrl: string;
}

export const peerRates = (config: Config): Record<IpType, bigint> => ({
  mobile: usdcToMicro(config.PEER_RATE_MOBILE_PER_GB),
  residential: usdcToMicro(config.PEER_RATE_RESIDENTIAL_PER_GB),
  datacenter: usdcToMicro(config.PEER_RATE_DATACENTER_PER_GB),
});

export const relayPublicUrl = (config: Config) => config.RELAY_PUBLIC_URL ?? `ws://${config.GATEWAY_PUBLIC_HOST}:${config.RELAY_PORT}`;

const contexts = new WeakMap<Infrastructure, PeerContext>();

/** One per infrastructure, so the API and the relay of one process share the token keys. */
export function peerContext(infra: Infrastructure): PeerContext {
  let ctx = contexts.get(infra);
  if (!ctx) {
    ctx = { infra, tokens: createPeerTokens(infra.config, () => infra.clock.now()), ratesMicroPerGB: peerRates(infra.config), relayPublicUrl: relayPublicUrl(infra.config) };
    contexts.set(infra, ctx);
  }
  return ctx;
}
