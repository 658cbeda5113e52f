import { expect } from 'chai';
import {
  formatGatewayError,
  GATEWAY_ERROR_CODES,
  GATEWAY_ERRORS,
  isGatewayErrorCode,
  SOCKS5_AUTH_FAILURE,
  SOCKS5_NO_ACCEPTABLE_METHODS,
  SOCKS5_REPLY,
} from '../../domain/gateway/errors.ts';

describe('gateway/errors', () => {
  it('has the seed table: code → HTTP status', () => {
    const statuses = Object.fromEntries(GATEWAY_ERROR_CODES.map((c) => [c, GATEWAY_ERRORS[c].httpStatus]));
    expect(statuses).to.deep.equal({
      E_AUTH_REQUIRED: 407,
      E_AUTH_INVALID: 407,
      E_USERNAME_PARSE: 400,
      E_RATE_LIMITED_AUTH: 429,
      E_RATE_LIMITED_CONN: 429,
      E_NO_STOCK_COUNTRY: 502,
      E_STOCK_DEGRADED: 502,
      E_SESSION_LIMIT: 429,
      E_SSRF_BLOCKED: 403,
      E_CAP_EXCEEDED: 407,
      E_INTERNAL: 503,
    });
  });

  it('maps each code to the SOCKS5 phase that can carry it', () => {
    expect(GATEWAY_ERRORS.E_AUTH_REQUIRED.socks5).to.deep.equal({ phase: 'method', method: SOCKS5_NO_ACCEPTABLE_METHODS });
    for (const c of ['E_AUTH_INVALID', 'E_USERNAME_PARSE', 'E_RATE_LIMITED_AUTH', 'E_CAP_EXCEEDED'] as const) {
      expect(GATEWAY_ERRORS[c].socks5, c).to.deep.equal({ phase: 'auth', status: SOCKS5_AUTH_FAILURE });
    }
    expect(GATEWAY_ERRORS.E_SSRF_BLOCKED.socks5).to.deep.equal({ phase: 'request', reply: SOCKS5_REPLY.notAllowedByRuleset });
    expect(GATEWAY_ERRORS.E_SESSION_LIMIT.socks5).to.deep.equal({ phase: 'request', reply: 0x02 });
    expect(GATEWAY_ERRORS.E_RATE_LIMITED_CONN.socks5).to.deep.equal({ phase: 'request', reply: 0x02 });
    expect(GATEWAY_ERRORS.E_NO_STOCK_COUNTRY.socks5).to.deep.equal({ phase: 'request', reply: 0x03 });
    expect(GATEWAY_ERRORS.E_STOCK_DEGRADED.socks5).to.deep.equal({ phase: 'request', reply: 0x01 });
    expect(GATEWAY_ERRORS.E_INTERNAL.socks5).to.deep.equal({ phase: 'request', reply: 0x01 });
  });

  it('never blames the target host for our own failures (no 0x04/0x05)', () => {
    for (const c of GATEWAY_ERROR_CODES) {
      const s = GATEWAY_ERRORS[c].socks5;
      if (s.phase === 'request') expect([0x04, 0x05], c).to.not.include(s.reply);
    }
  });

  it('formats exactly CODE: message (req: id)', () => {
    expect(formatGatewayError('E_SSRF_BLOCKED', 'target address 10.0.0.1 is private', 'r-123')).to.equal(
      'E_SSRF_BLOCKED: target address 10.0.0.1 is private (req: r-123)',
    );
  });

  it('falls back to the default message', () => {
    expect(formatGatewayError('E_INTERNAL', undefined, 'abc')).to.equal('E_INTERNAL: unexpected error (req: abc)');
    expect(formatGatewayError('E_AUTH_REQUIRED', '  ', 'abc')).to.equal('E_AUTH_REQUIRED: proxy credentials required (req: abc)');
  });

  it('keeps the body on one line whatever the message or id contains', () => {
    const body = formatGatewayError('E_AUTH_INVALID', 'no balance\r\nX-Injected: 1\u2028', 'id\n1');
    expect(body).to.equal('E_AUTH_INVALID: no balance X-Injected: 1 (req: id 1)');
  });

  it('recognises codes', () => {
    expect(isGatewayErrorCode('E_INTERNAL')).to.equal(true);
    expect(isGatewayErrorCode('E_NOPE')).to.equal(false);
    expect(isGatewayErrorCode('toString')).to.equal(false);
  });
});
