import { formatGb, formatUsdc } from '../../domain/pricing/pricing.ts';
import { MAX_FREE_REPLACEMENTS } from '../../domain/sessions/decide.ts';
import type { PaymentRef } from '../../domain/sessions/events.ts';
import type { PortRow, SessionRow } from '../../projections/sessions.ts';
import type { Config } from '../config.ts';
import type { AllocatedPort } from '../x402/ports.ts';

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

export function gatewayAddress(config: Config) {
  return {
    host: config.GATEWAY_PUBLIC_HOST,
    httpPort: config.GATEWAY_PUBLIC_HTTP_PORT ?? config.GATEWAY_HTTP_PORT,
    socksPort: config.GATEWAY_PUBLIC_SOCKS_PORT ?? config.GATEWAY_SOCKS_PORT,
  };
}

/** Credentials of a port just placed: the password and rotation token are shown this once. */
export function newPortView(config: Config, port: AllocatedPort, publicBase: string) {
  const { host, httpPort, socksPort } = gatewayAddress(config);
  const { username, password, rotationToken } = port.credentials;
  return {
    portId: port.portId,
    host, httpPort, socksPort, username, password, rotationToken,
    rotationUrl: `${publicBase}/rotate/${rotationToken}`,
    connection: {
      http: `http://${username}:${password}@${host}:${httpPort}`,
      socks5: `socks5://${username}:${password}@${host}:${socksPort}`,
    },
  };
}

export function paymentView(p: PaymentRef) {
  const amount = formatUsdc(BigInt(p.amountMicro));
  // transactionHash / amountPaid / currency / txHash / amountUSDC: the names agent clients (the official MCP server) read.
  return { network: p.network, proof: p.proof, transaction: p.transaction, payer: p.payer, amount, amountMicro: p.amountMicro, transactionHash: p.transaction, amountPaid: amount, currency: 'USDC' as const, txHash: p.transaction, amountUSDC: amount };
}

export function trafficView(total: bigint, used: bigint) {
  const remaining = total > used ? total - used : 0n;
  return {
    totalGB: formatGb(total), usedGB: formatGb(used), remainingGB: formatGb(remaining),
    totalBytes: total.toString(), usedBytes: used.toString(), remainingBytes: remaining.toString(),
  };
}

/**
 * A port of a session. With `session`, also what the official MCP server's x402 session tools print: id, http/socks5
 * strings (the password and rotation token were shown once at purchase and are kept hashed, so they are placeholders),
 * rotationUrl, expiresAt and expiresInSeconds (a port lives as long as its session).
 */
export function portView(config: Config, port: PortRow, online: boolean | null, session?: { expiresAt: Date | string; now: Date; base: string }) {
  const { host, httpPort, socksPort } = gatewayAddress(config);
  const expiresAt = session ? new Date(session.expiresAt) : null;
  return {
    ...(session && expiresAt ? {
      id: port.port_id,
      http: `http://${port.username}:YOUR_PASSWORD@${host}:${httpPort}`, socks5: `socks5://${port.username}:YOUR_PASSWORD@${host}:${socksPort}`,
      rotationUrl: `${session.base}/rotate/YOUR_ROTATION_TOKEN`, expiresAt: expiresAt.toISOString(),
      expiresInSeconds: Math.max(0, Math.floor((expiresAt.getTime() - session.now.getTime()) / 1000)),
    } : {}),
    portId: port.port_id,
    status: port.status,
    online,
    country: port.country_code,
    host, httpPort, socksPort,
    username: port.username,
    allocatedAt: iso(port.allocated_at),
    lastRotatedAt: port.rotations > 0 ? iso(port.last_moved_at) : null,
    rotations: port.rotations,
    releasedAt: iso(port.released_at),
    replacesPortId: port.replaces_port_id,
  };
}

/** What lookups without a token show: never tokens, passwords or usernames. */
export function publicSessionView(s: SessionRow, now: Date) {
  const expiresAt = new Date(s.expires_at);
  const status = s.status === 'active' && expiresAt.getTime() <= now.getTime() ? 'expired' : s.status;
  return {
    sessionId: s.session_id,
    status,
    tier: s.tier,
    country: s.country_code,
    carrier: s.carrier,
    createdAt: iso(s.created_at),
    expiresAt: expiresAt.toISOString(),
    traffic: trafficView(BigInt(s.traffic_bytes), BigInt(s.traffic_used_bytes)),
    payment: { network: s.network, transaction: s.transaction, payer: s.payer, amount: formatUsdc(BigInt(s.amount_micro)) },
    // flat, as the official MCP server's session tools print them
    walletAddress: s.payer, network: s.network, isActive: status === 'active', amountUSDC: formatUsdc(BigInt(s.amount_micro)), txHash: s.transaction,
    trafficAllocatedGB: Number(s.traffic_bytes) / 1e9, trafficUsedGB: Number(s.traffic_used_bytes) / 1e9,
  };
}

export function sessionView(s: SessionRow, now: Date) {
  const left = Math.max(0, Math.floor((new Date(s.expires_at).getTime() - now.getTime()) / 1000));
  return {
    ...publicSessionView(s, now),
    secondsRemaining: left,
    replacementsUsed: s.replacements_used,
    replacementsRemaining: Math.max(0, MAX_FREE_REPLACEMENTS - s.replacements_used),
    portAllocationFailed: s.allocation_failed,
  };
}
