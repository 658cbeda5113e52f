import { z } from 'zod';

/** Configuration of the peer marketplace: the relay role, peer tokens, earnings rates, payouts. */
const port = z.coerce.number().int().min(0).max(65535);
const ms = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);
const usdc = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, 'must be a USDC amount like 1.80');
const wsUrl = z.string().refine((v) => { try { return ['ws:', 'wss:'].includes(new URL(v).protocol); } catch { return false; } }, { message: 'must be a ws:// or wss:// URL' });
const httpUrl = z.string().refine((v) => { try { return new URL(v).protocol === 'http:'; } catch { return false; } }, { message: 'must be an http:// URL' });

export const peerEnv = {
  /** The relay role: peers' WebSocket and the gateways' CONNECT into peer tunnels share this port. */
  RELAY_HOST: z.string().min(1).default('0.0.0.0'),
  RELAY_PORT: port.default(7002),
  /** Handed to peers at registration; default ws://<GATEWAY_PUBLIC_HOST>:<RELAY_PORT>. */
  RELAY_PUBLIC_URL: wsUrl.optional(),
  /** How gateways reach this relay (stored in Redis next to each peer it holds); default http://127.0.0.1:<port>. */
  RELAY_INTERNAL_URL: httpUrl.optional(),
  /** Shared by gateways and relays to authenticate the internal CONNECT; default derived from PEER_JWT_SECRET. */
  RELAY_INTERNAL_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** HS256 key of peer JWTs; default: a random key kept in DATA_DIR/peer-jwt.secret (shared by processes on one machine). */
  PEER_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  PEER_JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  /** The seed's rates, USDC per GB served, by IP type. */
  PEER_RATE_MOBILE_PER_GB: usdc.default('1.80'),
  PEER_RATE_RESIDENTIAL_PER_GB: usdc.default('1.20'),
  PEER_RATE_DATACENTER_PER_GB: usdc.default('0.30'),
  /** IP classification overrides, `CIDR=type[:CC[:ASN[:org]]]` comma-separated (tests classify loopback peers this way). */
  PEER_IP_OVERRIDES: z.string().default(''),
  PEER_REGISTRATIONS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(3),
  PEER_TRAFFIC_FLUSH_MS: ms(100, 60_000, 5000),
  /** The seed's defences (Peer Marketplace, "What can make your connection drop"). */
  RELAY_OPEN_TIMEOUT_MS: ms(100, 120_000, 5000),
  RELAY_STALL_TIMEOUT_MS: ms(100, 600_000, 30_000),
  RELAY_BACKPRESSURE_BYTES: z.coerce.number().int().min(64 * 1024).max(1 << 30).default(8 * 1024 * 1024),
  RELAY_MAX_CONNECTIONS_PER_DEVICE: z.coerce.number().int().min(1).max(100).default(2),
  RELAY_MESSAGES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(100),
  RELAY_HEARTBEAT_MS: ms(100, 300_000, 30_000),
  /** `auto`: the payout worker sends what is requested; `manual`: an admin approves each payout first. */
  PEER_PAYOUT_APPROVAL: z.enum(['auto', 'manual']).default('auto'),
  /** The treasury that pays peers (base58 or JSON byte array); payouts need it plus SOLANA_RPC_URL and SOLANA_USDC_MINT. */
  PEER_TREASURY_SECRET: z.string().min(40).optional(),
  PEER_PAYOUT_INTERVAL_MS: ms(100, 3_600_000, 15_000),
};
