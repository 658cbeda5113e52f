/**
 * The gateway's error table (seed "Error codes") as data, with how each error surfaces on SOCKS5.
 *
 * SOCKS5 can only say "no" at three points, so each code names the phase it is reported in:
 * - method selection (RFC 1928 §3): 0xFF "no acceptable methods" — the client offered no
 *   username/password method, i.e. sent no credentials at all (E_AUTH_REQUIRED).
 * - auth sub-negotiation (RFC 1929 §2): any non-zero status is failure; we send 0x01. Everything
 *   decided from the credentials alone lands here (bad credentials, bad username tokens, auth
 *   rate limit), because the RFC requires the connection to close after a failed status.
 * - request reply (RFC 1928 §6): once authenticated, the reply code carries the reason:
 *   0x02 "not allowed by ruleset" for policy refusals (limits, SSRF), 0x03 "network unreachable"
 *   when no upstream modem exists for the pool+country, 0x01 "general failure" for transient or
 *   internal failures. We never use 0x04/0x05 for our own errors: clients read those as facts
 *   about the target host, which would mislead users into blaming the site they are visiting.
 */

export type GatewayErrorCode =
  | 'E_AUTH_REQUIRED'
  | 'E_AUTH_INVALID'
  | 'E_USERNAME_PARSE'
  | 'E_RATE_LIMITED_AUTH'
  | 'E_RATE_LIMITED_CONN'
  | 'E_NO_STOCK_COUNTRY'
  | 'E_STOCK_DEGRADED'
  | 'E_SESSION_LIMIT'
  | 'E_SSRF_BLOCKED'
  | 'E_CAP_EXCEEDED'
  | 'E_INTERNAL';

/** RFC 1928 §6 reply codes. */
export const SOCKS5_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowedByRuleset: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;
export type Socks5ReplyCode = (typeof SOCKS5_REPLY)[keyof typeof SOCKS5_REPLY];

/** RFC 1928 §3: the method-selection byte that refuses every offered method. */
export const SOCKS5_NO_ACCEPTABLE_METHODS = 0xff;
/** RFC 1929 §2: any non-zero status is failure; 0x01 is the conventional value. */
export const SOCKS5_AUTH_FAILURE = 0x01;

export type Socks5Outcome =
  | { phase: 'method'; method: typeof SOCKS5_NO_ACCEPTABLE_METHODS }
  | { phase: 'auth'; status: typeof SOCKS5_AUTH_FAILURE }
  | { phase: 'request'; reply: Socks5ReplyCode };

export interface GatewayErrorSpec {
  httpStatus: number;
  message: string;
  socks5: Socks5Outcome;
}

const METHOD_REFUSED: Socks5Outcome = { phase: 'method', method: SOCKS5_NO_ACCEPTABLE_METHODS };
const AUTH_FAILED: Socks5Outcome = { phase: 'auth', status: SOCKS5_AUTH_FAILURE };
const reply = (r: Socks5ReplyCode): Socks5Outcome => ({ phase: 'request', reply: r });

export const GATEWAY_ERRORS: Readonly<Record<GatewayErrorCode, GatewayErrorSpec>> = {
  E_AUTH_REQUIRED: { httpStatus: 407, message: 'proxy credentials required', socks5: METHOD_REFUSED },
  E_AUTH_INVALID: { httpStatus: 407, message: 'invalid proxy credentials', socks5: AUTH_FAILED },
  E_USERNAME_PARSE: { httpStatus: 400, message: 'username token format is wrong', socks5: AUTH_FAILED },
  // Counted on failed auth attempts, so it is known before the request phase.
  E_RATE_LIMITED_AUTH: { httpStatus: 429, message: 'too many failed auth attempts; back off 30s', socks5: AUTH_FAILED },
  // Per-account limits are checked after auth succeeded: a policy refusal.
  E_RATE_LIMITED_CONN: { httpStatus: 429, message: 'over 100 concurrent connections', socks5: reply(SOCKS5_REPLY.notAllowedByRuleset) },
  // No route to any upstream network for this pool+country.
  E_NO_STOCK_COUNTRY: { httpStatus: 502, message: 'no online endpoints for this pool and country', socks5: reply(SOCKS5_REPLY.networkUnreachable) },
  // Transient: retrying picks another endpoint, so "general failure" rather than a routing fact.
  E_STOCK_DEGRADED: { httpStatus: 502, message: 'selected endpoint became unavailable; retry', socks5: reply(SOCKS5_REPLY.generalFailure) },
  E_SESSION_LIMIT: { httpStatus: 429, message: '50 sessions max per account', socks5: reply(SOCKS5_REPLY.notAllowedByRuleset) },
  E_SSRF_BLOCKED: { httpStatus: 403, message: 'target is private, cloud-metadata or localhost', socks5: reply(SOCKS5_REPLY.notAllowedByRuleset) },
  // A reseller's pool-access key used up its traffic cap (decided from the credentials: the auth phase).
  E_CAP_EXCEEDED: { httpStatus: 407, message: 'this pool access key reached its traffic cap; ask your provider to top it up', socks5: AUTH_FAILED },
  E_INTERNAL: { httpStatus: 503, message: 'unexpected error', socks5: reply(SOCKS5_REPLY.generalFailure) },
};

export const GATEWAY_ERROR_CODES = Object.keys(GATEWAY_ERRORS) as GatewayErrorCode[];

export function isGatewayErrorCode(s: string): s is GatewayErrorCode {
  return Object.prototype.hasOwnProperty.call(GATEWAY_ERRORS, s);
}

/**
 * The failure body `CODE: message (req: <id>)`. An empty/absent message falls back to the table's.
 * Control characters become spaces: messages may carry backend reasons or echoed user input, and
 * the body must stay the single line the seed promises.
 */
export function formatGatewayError(code: GatewayErrorCode, message: string | undefined, reqId: string): string {
  const text = oneLine(message ?? '') || GATEWAY_ERRORS[code].message;
  return `${code}: ${text} (req: ${oneLine(reqId)})`;
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}
