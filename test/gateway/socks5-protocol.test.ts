import { expect } from 'chai';
import {
  decodeCredentials,
  decodeGreeting,
  decodeRequest,
  encodeAuthReply,
  encodeMethodSelection,
  encodeReply,
  METHOD,
  selectMethod,
  type Decoded,
} from '../../adapters/gateway/socks5/protocol.ts';
import { seededRng } from './prng.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const GREETING = hex('05 02 00 02');
const user = 'psx_acc-mbl-us-sid-bot01_main';
const pass = 'p:a:ss';
const CREDENTIALS = Buffer.concat([Buffer.from([1, user.length]), Buffer.from(user), Buffer.from([pass.length]), Buffer.from(pass)]);
const REQ_DOMAIN = Buffer.concat([hex('05 01 00 03'), Buffer.from([11]), Buffer.from('example.com'), hex('01bb')]);
const REQ_V4 = hex('05 01 00 01 5db8d70e 0050');
const REQ_V6 = hex('05 01 00 04 26064700000000000000000000001111 01bb');

function done<T>(r: Decoded<T>): { value: T; rest: Buffer } {
  if (r.kind !== 'done') throw new Error(`expected done, got ${JSON.stringify(r)}`);
  return { value: r.value, rest: r.rest };
}
function error<T>(r: Decoded<T>) {
  if (r.kind !== 'error') throw new Error(`expected error, got ${JSON.stringify(r)}`);
  return r.error;
}

/** Feed `bytes` one at a time; every prefix must ask for more, and `need` must never overshoot. */
function byteAtATime<T>(decode: (b: Buffer) => Decoded<T>, bytes: Buffer): { value: T; rest: Buffer } {
  for (let i = 0; i < bytes.length; i++) {
    const r = decode(bytes.subarray(0, i));
    if (r.kind !== 'need') throw new Error(`prefix of ${i} bytes gave ${r.kind}`);
    expect(r.need, `prefix ${i}`).to.be.at.least(1);
    expect(i + r.need, `prefix ${i} overshoots`).to.be.at.most(bytes.length);
  }
  return done(decode(bytes));
}

describe('gateway/socks5 codec', () => {
  describe('greeting', () => {
    it('decodes methods, byte at a time', () => {
      expect(byteAtATime(decodeGreeting, GREETING)).to.deep.equal({ value: { methods: [0, 2] }, rest: Buffer.alloc(0) });
    });
    it('selects username/password only when offered', () => {
      expect(selectMethod({ methods: [0, 2] })).to.equal(METHOD.userPass);
      expect(selectMethod({ methods: [0] })).to.equal(METHOD.noAcceptable);
      expect(selectMethod({ methods: [1, 0x80] })).to.equal(0xff);
    });
    it('rejects SOCKS4 and HTTP with a hint and no reply bytes', () => {
      expect(error(decodeGreeting(hex('04 01 0050 7f000001 00')))).to.deep.include({ code: 'bad-version', respond: undefined });
      expect(error(decodeGreeting(hex('04'))).message).to.match(/SOCKS4 is not supported/);
      expect(error(decodeGreeting(Buffer.from('CONNECT example.com:443'))).message).to.match(/looks like HTTP/);
    });
    it('answers a greeting without methods with "no acceptable methods"', () => {
      expect(error(decodeGreeting(hex('05 00')))).to.deep.equal({ code: 'no-methods', message: 'greeting offers no authentication methods', respond: hex('05 ff') });
    });
  });

  describe('credentials', () => {
    it('decodes username with "-" and password with ":", byte at a time', () => {
      expect(byteAtATime(decodeCredentials, CREDENTIALS).value).to.deep.equal({ username: user, password: pass });
    });
    it('decodes UTF-8 and zero-length fields', () => {
      const u = Buffer.from('üser');
      expect(done(decodeCredentials(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([0])]))).value).to.deep.equal({ username: 'üser', password: '' });
      expect(done(decodeCredentials(hex('01 00 00'))).value).to.deep.equal({ username: '', password: '' });
    });
    it('decodes 255-byte fields', () => {
      const long = 'a'.repeat(255);
      const buf = Buffer.concat([Buffer.from([1, 255]), Buffer.from(long), Buffer.from([255]), Buffer.from(long)]);
      expect(buf.length).to.equal(513);
      expect(done(decodeCredentials(buf)).value).to.deep.equal({ username: long, password: long });
    });
    it('refuses invalid UTF-8 with an auth-failure reply', () => {
      expect(error(decodeCredentials(hex('01 01 ff 01 61')))).to.deep.include({ code: 'bad-credentials-encoding', respond: hex('01 01') });
    });
    it('refuses a wrong sub-negotiation version', () => {
      expect(error(decodeCredentials(hex('05 01 61 01 61')))).to.deep.include({ code: 'bad-version', respond: undefined });
    });
  });

  describe('request', () => {
    it('decodes a domain CONNECT byte at a time', () => {
      expect(byteAtATime(decodeRequest, REQ_DOMAIN).value).to.deep.equal({ command: 'connect', address: { type: 'domain', host: 'example.com' }, port: 443 });
    });
    it('decodes IPv4 and IPv6 targets', () => {
      expect(byteAtATime(decodeRequest, REQ_V4).value).to.deep.equal({ command: 'connect', address: { type: 'ipv4', host: '93.184.215.14' }, port: 80 });
      expect(byteAtATime(decodeRequest, REQ_V6).value).to.deep.equal({ command: 'connect', address: { type: 'ipv6', host: '2606:4700::1111' }, port: 443 });
    });
    it('decodes a one-byte domain (the shortest request)', () => {
      expect(byteAtATime(decodeRequest, hex('05 01 00 03 01 61 0001')).value.address).to.deep.equal({ type: 'domain', host: 'a' });
    });
    it('refuses BIND and UDP ASSOCIATE with reply 0x07 as soon as the command byte arrives', () => {
      for (const [cmd, name] of [[2, 'BIND'], [3, 'UDP ASSOCIATE'], [9, '0x9']] as const) {
        const e = error(decodeRequest(Buffer.from([5, cmd])));
        expect(e.code).to.equal('command-not-supported');
        expect(e.message).to.contain(name);
        expect(e.respond).to.deep.equal(hex('05 07 00 01 00000000 0000'));
      }
    });
    it('refuses unknown address types with reply 0x08', () => {
      expect(error(decodeRequest(hex('05 01 00 02')))).to.deep.include({ code: 'address-type-not-supported', respond: hex('05 08 00 01 00000000 0000') });
    });
    it('refuses an empty domain and port 0 with a general failure', () => {
      expect(error(decodeRequest(hex('05 01 00 03 00 01bb')))).to.deep.include({ code: 'bad-address', respond: hex('05 01 00 01 00000000 0000') });
      expect(error(decodeRequest(hex('05 01 00 01 01020304 0000')))).to.deep.include({ code: 'bad-port' });
      expect(error(decodeRequest(hex('05 01 00 03 01 ff 0050')))).to.deep.include({ code: 'bad-address' });
    });
    it('refuses a wrong version', () => {
      expect(error(decodeRequest(hex('04')))).to.deep.include({ code: 'bad-version', respond: undefined });
    });
    it('ignores RSV', () => {
      expect(done(decodeRequest(hex('05 01 7f 01 01020304 0050'))).value.port).to.equal(80);
    });
  });

  describe('coalesced and fragmented streams', () => {
    const transcript = Buffer.concat([GREETING, CREDENTIALS, REQ_DOMAIN, Buffer.from('GET / HTTP/1.1\r\n')]);

    /** What a server does: buffer chunks, run the decoder for the current phase, carry `rest` over. */
    function serve(chunks: Buffer[]): { greeting: unknown; credentials: unknown; request: unknown; payload: Buffer } {
      const decoders = [decodeGreeting, decodeCredentials, decodeRequest] as Array<(b: Buffer) => Decoded<unknown>>;
      const values: unknown[] = [];
      let buf: Buffer = Buffer.alloc(0);
      for (const chunk of chunks) {
        buf = Buffer.concat([buf, chunk]);
        while (values.length < decoders.length) {
          const r = (decoders[values.length] as (b: Buffer) => Decoded<unknown>)(buf);
          if (r.kind === 'error') throw new Error(r.error.message);
          if (r.kind === 'need') break;
          values.push(r.value);
          buf = r.rest;
        }
      }
      return { greeting: values[0], credentials: values[1], request: values[2], payload: buf };
    }
    const expected = {
      greeting: { methods: [0, 2] },
      credentials: { username: user, password: pass },
      request: { command: 'connect', address: { type: 'domain', host: 'example.com' }, port: 443 },
      payload: Buffer.from('GET / HTTP/1.1\r\n'),
    };

    it('handles everything in one packet (rest carries the next message and the payload)', () => {
      expect(serve([transcript])).to.deep.equal(expected);
    });
    it('handles one byte per packet', () => {
      expect(serve([...transcript].map((b) => Buffer.from([b])))).to.deep.equal(expected);
    });
    it('handles 500 random chunkings (seeded)', () => {
      const rng = seededRng(0x50c5);
      for (let run = 0; run < 500; run++) {
        const chunks: Buffer[] = [];
        for (let at = 0; at < transcript.length; ) {
          const n = 1 + rng.int(12);
          chunks.push(transcript.subarray(at, at + n));
          at += n;
        }
        expect(serve(chunks), `run ${run}`).to.deep.equal(expected);
      }
    });
  });

  describe('encoders', () => {
    it('method selection and auth replies', () => {
      expect(encodeMethodSelection(METHOD.userPass)).to.deep.equal(hex('05 02'));
      expect(encodeMethodSelection(METHOD.noAcceptable)).to.deep.equal(hex('05 ff'));
      expect(encodeAuthReply(true)).to.deep.equal(hex('01 00'));
      expect(encodeAuthReply(false)).to.deep.equal(hex('01 01'));
    });
    it('command replies with a bound address', () => {
      expect(encodeReply(0x00, { address: { type: 'ipv4', host: '10.1.2.3' }, port: 51000 })).to.deep.equal(hex('05 00 00 01 0a010203 c738'));
      expect(encodeReply(0x00, { address: { type: 'ipv6', host: '2001:db8::1' }, port: 1 })).to.deep.equal(hex('05 00 00 04 20010db8000000000000000000000001 0001'));
      expect(encodeReply(0x00, { address: { type: 'domain', host: 'gw' }, port: 7001 })).to.deep.equal(hex('05 00 00 03 02 6777 1b59'));
      expect(encodeReply(0x02)).to.deep.equal(hex('05 02 00 01 00000000 0000'));
    });
    it('round-trips bound addresses through the request decoder', () => {
      for (const address of [{ type: 'ipv4', host: '1.2.3.4' }, { type: 'ipv6', host: 'fe80::1' }, { type: 'domain', host: 'example.org' }] as const) {
        const reply = encodeReply(0x00, { address, port: 8080 });
        reply[1] = 0x01; // the reply has the request's layout; as CONNECT it decodes back
        expect(done(decodeRequest(reply)).value).to.deep.equal({ command: 'connect', address, port: 8080 });
      }
    });
    it('throws on a malformed bound address (a caller bug)', () => {
      expect(() => encodeReply(0, { address: { type: 'ipv4', host: '::1' }, port: 1 })).to.throw(RangeError);
      expect(() => encodeReply(0, { address: { type: 'domain', host: '' }, port: 1 })).to.throw(RangeError);
      expect(() => encodeReply(0, { address: { type: 'ipv4', host: '1.2.3.4' }, port: 70000 })).to.throw(RangeError);
    });
  });
});
