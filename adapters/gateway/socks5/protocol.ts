import { SOCKS5_REPLY, type Socks5ReplyCode } from '../../../domain/gateway/errors.ts';
import { formatIp, parseIp } from '../ssrf.ts';

/**
 * Incremental server-side SOCKS5 codec (RFC 1928 + RFC 1929 username/password).
 *
 * Each decoder looks at the bytes received so far and answers:
 *   { kind: 'need', need }          — at least `need` more bytes before anything can be decided;
 *   { kind: 'done', value, rest }   — a whole message; `rest` is whatever followed it (coalesced
 *                                     packets: a client may send greeting+auth+request at once);
 *   { kind: 'error', error }        — protocol violation; send `error.respond` (if any), then close.
 * Errors are reported as soon as the offending byte arrives, so a server never buffers garbage.
 * No message exceeds 513 bytes, so a server can cap its buffer there.
 */

export const SOCKS_VERSION = 0x05;
export const AUTH_VERSION = 0x01;
export const METHOD = { noAuth: 0x00, gssapi: 0x01, userPass: 0x02, noAcceptable: 0xff } as const;
export const COMMAND = { connect: 0x01, bind: 0x02, udpAssociate: 0x03 } as const;
export const ATYP = { ipv4: 0x01, domain: 0x03, ipv6: 0x04 } as const;
export const MAX_MESSAGE_BYTES = 513;

export type Socks5Address =
  | { type: 'ipv4'; host: string }
  | { type: 'domain'; host: string }
  | { type: 'ipv6'; host: string };

export interface Socks5Greeting {
  methods: number[];
}
export interface Socks5Credentials {
  username: string;
  password: string;
}
export interface Socks5Request {
  command: 'connect';
  address: Socks5Address;
  port: number;
}

export type Socks5DecodeErrorCode =
  | 'bad-version'
  | 'no-methods'
  | 'bad-auth-version'
  | 'bad-credentials-encoding'
  | 'command-not-supported'
  | 'address-type-not-supported'
  | 'bad-address'
  | 'bad-port';

export interface Socks5DecodeError {
  code: Socks5DecodeErrorCode;
  message: string;
  /** Bytes to write before closing; undefined when the peer does not speak our protocol at all. */
  respond: Buffer | undefined;
}

export type Decoded<T> =
  | { kind: 'need'; need: number }
  | { kind: 'done'; value: T; rest: Buffer }
  | { kind: 'error'; error: Socks5DecodeError };

const need = (n: number): { kind: 'need'; need: number } => ({ kind: 'need', need: n });
const fail = (code: Socks5DecodeErrorCode, message: string, respond: Buffer | undefined): { kind: 'error'; error: Socks5DecodeError } => ({
  kind: 'error',
  error: { code, message, respond },
});
const utf8 = new TextDecoder('utf-8', { fatal: true });

function badVersion(byte: number, expected: string): { kind: 'error'; error: Socks5DecodeError } {
  // Name the two usual mistakes: a SOCKS4 client, or an HTTP client on the SOCKS port.
  const hint = byte === 0x04 ? ' (SOCKS4 is not supported)' : byte >= 0x41 && byte <= 0x5a ? ' (looks like HTTP; use the HTTP proxy port)' : '';
  return fail('bad-version', `expected ${expected}, got version byte 0x${byte.toString(16).padStart(2, '0')}${hint}`, undefined);
}

/** VER NMETHODS METHODS… */
export function decodeGreeting(buf: Buffer): Decoded<Socks5Greeting> {
  if (buf.length < 1) return need(3);
  if (buf[0] !== SOCKS_VERSION) return badVersion(buf[0] as number, 'SOCKS5 greeting');
  if (buf.length < 2) return need(2);
  const n = buf[1] as number;
  if (n === 0) return fail('no-methods', 'greeting offers no authentication methods', encodeMethodSelection(METHOD.noAcceptable));
  if (buf.length < 2 + n) return need(2 + n - buf.length);
  return { kind: 'done', value: { methods: [...buf.subarray(2, 2 + n)] }, rest: buf.subarray(2 + n) };
}

/** The method to answer a greeting with: username/password if offered, else "no acceptable". */
export function selectMethod(greeting: Socks5Greeting): number {
  return greeting.methods.includes(METHOD.userPass) ? METHOD.userPass : METHOD.noAcceptable;
}

/**
 * RFC 1929: VER(1) ULEN UNAME PLEN PASSWD. Zero-length fields are accepted here and simply fail
 * authentication later; non-UTF-8 bytes are refused rather than replaced, so two different byte
 * strings can never decode to the same credentials.
 */
export function decodeCredentials(buf: Buffer): Decoded<Socks5Credentials> {
  if (buf.length < 1) return need(3);
  if (buf[0] !== AUTH_VERSION) return badVersion(buf[0] as number, 'username/password auth version 0x01');
  if (buf.length < 2) return need(2);
  const ulen = buf[1] as number;
  if (buf.length < 3 + ulen) return need(3 + ulen - buf.length);
  const plen = buf[2 + ulen] as number;
  const end = 3 + ulen + plen;
  if (buf.length < end) return need(end - buf.length);
  try {
    const username = utf8.decode(buf.subarray(2, 2 + ulen));
    const password = utf8.decode(buf.subarray(3 + ulen, end));
    return { kind: 'done', value: { username, password }, rest: buf.subarray(end) };
  } catch {
    return fail('bad-credentials-encoding', 'username or password is not valid UTF-8', encodeAuthReply(false));
  }
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT. RSV is ignored: it carries nothing. */
export function decodeRequest(buf: Buffer): Decoded<Socks5Request> {
  // The shortest request is 8 bytes (one-byte domain name).
  if (buf.length < 1) return need(8);
  if (buf[0] !== SOCKS_VERSION) return badVersion(buf[0] as number, 'SOCKS5 request');
  if (buf.length < 2) return need(7);
  const cmd = buf[1] as number;
  if (cmd !== COMMAND.connect) {
    const name = cmd === COMMAND.bind ? 'BIND' : cmd === COMMAND.udpAssociate ? 'UDP ASSOCIATE' : `0x${cmd.toString(16)}`;
    return fail('command-not-supported', `command ${name} is not supported; only CONNECT`, encodeReply(SOCKS5_REPLY.commandNotSupported));
  }
  if (buf.length < 4) return need(8 - buf.length);
  const atyp = buf[3] as number;
  let address: Socks5Address;
  let portAt: number;
  switch (atyp) {
    case ATYP.ipv4:
      if (buf.length < 10) return need(10 - buf.length);
      address = { type: 'ipv4', host: formatIp({ family: 4, value: BigInt(buf.readUInt32BE(4)) }) };
      portAt = 8;
      break;
    case ATYP.ipv6:
      if (buf.length < 22) return need(22 - buf.length);
      address = { type: 'ipv6', host: formatIp({ family: 6, value: BigInt(`0x${buf.subarray(4, 20).toString('hex')}`) }) };
      portAt = 20;
      break;
    case ATYP.domain: {
      if (buf.length < 5) return need(5 + 1 + 2 - buf.length);
      const len = buf[4] as number;
      if (len === 0) return fail('bad-address', 'empty domain name', encodeReply(SOCKS5_REPLY.generalFailure));
      if (buf.length < 5 + len + 2) return need(5 + len + 2 - buf.length);
      let host: string;
      try {
        host = utf8.decode(buf.subarray(5, 5 + len));
      } catch {
        return fail('bad-address', 'domain name is not valid UTF-8', encodeReply(SOCKS5_REPLY.generalFailure));
      }
      address = { type: 'domain', host };
      portAt = 5 + len;
      break;
    }
    default:
      return fail('address-type-not-supported', `address type 0x${atyp.toString(16)} is not supported`, encodeReply(SOCKS5_REPLY.addressTypeNotSupported));
  }
  const port = buf.readUInt16BE(portAt);
  if (port === 0) return fail('bad-port', 'destination port 0 is not connectable', encodeReply(SOCKS5_REPLY.generalFailure));
  return { kind: 'done', value: { command: 'connect', address, port }, rest: buf.subarray(portAt + 2) };
}

export function encodeMethodSelection(method: number): Buffer {
  return Buffer.from([SOCKS_VERSION, method]);
}

/** RFC 1929 status: 0x00 success, 0x01 failure (the server must then close). */
export function encodeAuthReply(success: boolean): Buffer {
  return Buffer.from([AUTH_VERSION, success ? 0x00 : 0x01]);
}

const UNSPECIFIED_BOUND: { address: Socks5Address; port: number } = { address: { type: 'ipv4', host: '0.0.0.0' }, port: 0 };

/**
 * VER REP RSV ATYP BND.ADDR BND.PORT. Failures conventionally carry 0.0.0.0:0. Throws RangeError on
 * a malformed bound address — that is a bug in the caller, not input from the network.
 */
export function encodeReply(reply: Socks5ReplyCode, bound: { address: Socks5Address; port: number } = UNSPECIFIED_BOUND): Buffer {
  if (!Number.isInteger(bound.port) || bound.port < 0 || bound.port > 65535) throw new RangeError(`bad bound port ${bound.port}`);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(bound.port);
  const { address } = bound;
  let addr: Buffer;
  switch (address.type) {
    case 'ipv4':
    case 'ipv6': {
      const ip = parseIp(address.host);
      const family = address.type === 'ipv4' ? 4 : 6;
      if (ip === undefined || ip.family !== family) throw new RangeError(`bad bound ${address.type} address ${address.host}`);
      const bytes = Buffer.from(ip.value.toString(16).padStart(family === 4 ? 8 : 32, '0'), 'hex');
      addr = Buffer.concat([Buffer.from([family === 4 ? ATYP.ipv4 : ATYP.ipv6]), bytes]);
      break;
    }
    case 'domain': {
      const name = Buffer.from(address.host, 'utf8');
      if (name.length === 0 || name.length > 255) throw new RangeError('bound domain must be 1-255 bytes');
      addr = Buffer.concat([Buffer.from([ATYP.domain, name.length]), name]);
      break;
    }
    default: {
      const unreachable: never = address;
      throw new RangeError(`unknown address type ${JSON.stringify(unreachable)}`);
    }
  }
  return Buffer.concat([Buffer.from([SOCKS_VERSION, reply, 0x00]), addr, port]);
}
