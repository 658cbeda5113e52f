import { countryName } from '../../domain/fleet/countries.ts';
import { formatUsdc } from '../../domain/pricing/pricing.ts';
import type { SessionRow } from '../../projections/sessions.ts';

/**
 * The `session` object existing x402 agent clients read (the official MCP server's X402Session): numbers for
 * traffic (GB = 10^9 bytes), the location by name and code, the payment. Proxy credentials and the rotation link
 * appear only in the purchase answer, where the secrets are shown once.
 */
export interface AgentSessionFacts {
  id: string;
  /** the payer; the official MCP server's get_session_status prints it */
  walletAddress: string;
  status: 'active' | 'expired';
  expiresAt: string;
  countryCode: string;
  carrier: string | null;
  trafficBytes: bigint;
  usedBytes: bigint;
  payment: { network: string; transaction: string; amountMicro: bigint; paidAt: string };
}

export interface AgentSecrets {
  proxy: { host: string; httpPort: number; socksPort: number; username: string; password: string };
  rotationUrl: string;
  rotationToken: string;
}

const GB = 1e9;
const round = (n: number, digits = 6) => Number(n.toFixed(digits));

export function agentSession(f: AgentSessionFacts, now: Date, secrets?: AgentSecrets) {
  const remaining = f.trafficBytes > f.usedBytes ? f.trafficBytes - f.usedBytes : 0n;
  const expired = f.status !== 'active' || new Date(f.expiresAt).getTime() <= now.getTime();
  return {
    id: f.id,
    walletAddress: f.walletAddress,
    status: expired ? ('expired' as const) : ('active' as const),
    expiresAt: new Date(f.expiresAt).toISOString(),
    ...(secrets ? { proxy: secrets.proxy } : {}),
    location: { country: countryName(f.countryCode) ?? f.countryCode, countryCode: f.countryCode, ...(f.carrier ? { carrier: f.carrier } : {}) },
    traffic: {
      allowedGB: round(Number(f.trafficBytes) / GB),
      usedBytes: Number(f.usedBytes),
      usedGB: round(Number(f.usedBytes) / GB),
      remainingBytes: Number(remaining),
      remainingGB: round(Number(remaining) / GB),
      percentUsed: f.trafficBytes > 0n ? round((Number(f.usedBytes) / Number(f.trafficBytes)) * 100, 2) : 0,
    },
    payment: { network: f.payment.network as 'base' | 'solana', transactionHash: f.payment.transaction, amountUSDC: formatUsdc(f.payment.amountMicro), paidAt: new Date(f.payment.paidAt).toISOString() },
    ...(secrets ? { rotationUrl: secrets.rotationUrl, rotationToken: secrets.rotationToken } : {}),
  };
}

export function agentSessionFromRow(s: SessionRow, now: Date) {
  return agentSession({
    id: s.session_id, walletAddress: s.payer, status: s.status, expiresAt: new Date(s.expires_at).toISOString(), countryCode: s.country_code, carrier: s.carrier,
    trafficBytes: BigInt(s.traffic_bytes), usedBytes: BigInt(s.traffic_used_bytes),
    payment: { network: s.network, transaction: s.transaction, amountMicro: BigInt(s.amount_micro), paidAt: new Date(s.created_at).toISOString() },
  }, now);
}
