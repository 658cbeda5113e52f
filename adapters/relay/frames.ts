/**
 * The relay protocol the public peer SDKs speak (android-peer-sdk RelayConnection.kt, v1.3.1).
 * Control messages are JSON text frames `{type, payload}`; tunnel bytes travel in binary frames:
 *   [u8 type: 0x01 data | 0x03 close][u8 sessionId length][sessionId UTF-8][payload]
 */
export const FRAME_DATA = 0x01;
export const FRAME_CLOSE = 0x03;
/** The ws/OkHttp frame cap; we never send more, and refuse more. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Payload per data frame we send (the SDK reads 256 KB at a time). */
export const DATA_CHUNK_BYTES = 256 * 1024;

export type TunnelFailureReason = 'connection_refused' | 'dns_failed' | 'timeout' | 'unknown';

/** peer → relay */
export type PeerMessage =
  | { type: 'device_info'; payload: { country?: string; carrier?: string; model?: string; osVersion?: string; currentIp?: string; protocol?: string; supportsRelayRedirect?: boolean; sdkVersion?: string } }
  | { type: 'heartbeat'; payload?: { timestamp?: number } }
  | { type: 'heartbeat_ack'; payload?: unknown }
  | { type: 'tunnel_connected'; payload: { sessionId: string } }
  | { type: 'tunnel_open_failed'; payload: { sessionId: string; reason: TunnelFailureReason; detail?: string; durationMs?: number } }
  | { type: 'tunnel_closed'; payload: { sessionId: string; error?: string } }
  | { type: 'proxy_response'; payload: { requestId: string; statusCode: number; headers?: Record<string, string>; body?: string } }
  | { type: 'proxy_error'; payload: { requestId: string; error: string } };

/** relay → peer */
export type RelayMessage =
  | { type: 'connected'; payload: { deviceId: string; ip: string } }
  | { type: 'heartbeat'; payload: { timestamp: number } }
  | { type: 'heartbeat_ack'; payload: { timestamp: number } }
  | { type: 'tunnel_connect'; payload: { sessionId: string; host: string; port: number } }
  | { type: 'tunnel_close'; payload: { sessionId: string } }
  | { type: 'relay_redirect'; payload: { relay: string; reason: string } }
  | { type: 'proxy_request'; payload: { requestId: string; method: string; url: string; headers: Record<string, string>; body?: string } }
  | { type: 'error'; payload: { message: string } };

const PEER_TYPES = new Set(['device_info', 'heartbeat', 'heartbeat_ack', 'tunnel_connected', 'tunnel_open_failed', 'tunnel_closed', 'proxy_response', 'proxy_error']);
const RELAY_TYPES = new Set(['connected', 'heartbeat', 'heartbeat_ack', 'tunnel_connect', 'tunnel_close', 'relay_redirect', 'proxy_request', 'error']);

function parseJson(text: string, types: Set<string>): { type: string; payload: Record<string, unknown> } | null {
  let m: unknown;
  try { m = JSON.parse(text); } catch { return null; }
  if (typeof m !== 'object' || m === null) return null;
  const { type, payload } = m as { type?: unknown; payload?: unknown };
  if (typeof type !== 'string' || !types.has(type)) return null;
  if (payload !== undefined && (typeof payload !== 'object' || payload === null)) return null;
  return { type, payload: (payload ?? {}) as Record<string, unknown> };
}

/** A control message from a peer, or null when it is not one we know (unknown types are ignored, as the SDK does). */
export function parsePeerMessage(text: string): PeerMessage | null {
  const m = parseJson(text, PEER_TYPES);
  if (!m) return null;
  const sid = m.payload.sessionId;
  if (m.type.startsWith('tunnel_') && typeof sid !== 'string') return null;
  if (m.type.startsWith('proxy_') && typeof m.payload.requestId !== 'string') return null;
  return m as PeerMessage;
}

export function parseRelayMessage(text: string): RelayMessage | null {
  return parseJson(text, RELAY_TYPES) as RelayMessage | null;
}

export const encodeMessage = (m: RelayMessage | PeerMessage) => JSON.stringify(m);

export function encodeFrame(type: typeof FRAME_DATA | typeof FRAME_CLOSE, sessionId: string, payload?: Uint8Array): Buffer {
  const sid = Buffer.from(sessionId, 'utf8');
  if (sid.length > 255) throw new RangeError('sessionId longer than 255 bytes');
  const len = payload?.length ?? 0;
  if (2 + sid.length + len > MAX_FRAME_BYTES) throw new RangeError('frame larger than 4 MB');
  const out = Buffer.allocUnsafe(2 + sid.length + len);
  out[0] = type;
  out[1] = sid.length;
  sid.copy(out, 2);
  if (payload && len > 0) out.set(payload, 2 + sid.length);
  return out;
}

export type DecodedFrame = { type: number; sessionId: string; payload: Buffer };

/** null for a frame too short to hold its own header. The payload is a view, not a copy. */
export function decodeFrame(buf: Buffer): DecodedFrame | null {
  if (buf.length < 2) return null;
  const sidLen = buf[1]!;
  if (buf.length < 2 + sidLen) return null;
  return { type: buf[0]!, sessionId: buf.toString('utf8', 2, 2 + sidLen), payload: buf.subarray(2 + sidLen) };
}
