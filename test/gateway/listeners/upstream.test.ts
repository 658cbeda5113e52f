import { expect } from 'chai';
import { getEventListeners, once } from 'node:events';
import type net from 'node:net';
import { dialSignal, openTunnel, type OpenTunnelResult, type Tunnel } from '../../../adapters/gateway/upstream.ts';
import { deadPort, readAll, startHttpModem, startSilentServer, startSocksModem, startTcpTarget, type Modem, type TcpTarget } from './helpers.ts';

/** Sends `payload`, half-closes, and returns everything the target sent back (head included). */
async function roundTrip(tunnel: Tunnel, payload: string): Promise<string> {
  const all = readAll(tunnel.socket);
  tunnel.socket.resume();
  tunnel.socket.end(payload);
  return Buffer.concat([tunnel.head, await all]).toString();
}

function opened(r: OpenTunnelResult): Tunnel {
  if (!r.ok) throw new Error(`expected an open tunnel, got ${r.error.kind}: ${r.error.message}`);
  return r.tunnel;
}

describe('gateway/upstream openTunnel', () => {
  let target: TcpTarget;
  let bannerTarget: TcpTarget;
  const modems: Modem[] = [];
  const sockets: net.Socket[] = [];
  before(async () => {
    target = await startTcpTarget();
    bannerTarget = await startTcpTarget({ banner: 'HELLO\r\n' });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(modems.splice(0).map((m) => m.close()));
  });
  after(async () => {
    await Promise.all([target.close(), bannerTarget.close()]);
  });
  const keep = (r: OpenTunnelResult): OpenTunnelResult => {
    if (r.ok) sockets.push(r.tunnel.socket);
    return r;
  };
  const modem = async (m: Promise<Modem>): Promise<Modem> => {
    const started = await m;
    modems.push(started);
    return started;
  };

  it('direct: connects to the target itself', async () => {
    const t = opened(keep(await openTunnel({ deviceId: 'd', url: null }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 })));
    expect(await roundTrip(t, 'abc')).to.equal('abc[received 3]');
  });

  it('HTTP CONNECT: authenticates, asks for the exact address, and carries bytes both ways', async () => {
    const m = await modem(startHttpModem());
    const t = opened(keep(await openTunnel({ deviceId: 'm', url: m.url }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 })));
    expect(m.targets).to.deep.equal([`127.0.0.1:${target.port}`]);
    expect(await roundTrip(t, 'xyz')).to.equal('xyz[received 3]');
  });

  it('HTTP CONNECT: reads an answer that arrives a few bytes at a time', async () => {
    const m = await modem(startHttpModem({ fragmented: true }));
    const t = opened(keep(await openTunnel({ deviceId: 'm', url: m.url }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 })));
    expect(await roundTrip(t, 'frag')).to.equal('frag[received 4]');
  });

  it('HTTP CONNECT: hands back target bytes that came in the same packet as the 200', async () => {
    const m = await modem(startHttpModem({ banner: 'EARLY' }));
    const t = opened(keep(await openTunnel({ deviceId: 'm', url: m.url }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 })));
    expect(t.head.toString()).to.equal('EARLY');
    expect(await roundTrip(t, 'q')).to.equal('EARLYq[received 1]');
  });

  it('HTTP CONNECT: a rejected password is auth-rejected with the status', async () => {
    const m = await modem(startHttpModem({ password: 'other' }));
    const r = await openTunnel({ deviceId: 'm', url: m.url }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect([r.error.kind, r.error.status]).to.deep.equal(['auth-rejected', 407]);
  });

  it('HTTP CONNECT: a target the modem cannot reach is refused with the status', async () => {
    const m = await modem(startHttpModem());
    const r = await openTunnel({ deviceId: 'm', url: m.url }, { host: '127.0.0.1', port: await deadPort() }, { timeoutMs: 5000 });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect([r.error.kind, r.error.status]).to.deep.equal(['refused', 502]);
  });

  it('SOCKS5: authenticates, asks for the exact address, and carries bytes both ways', async () => {
    const m = await modem(startSocksModem());
    const t = opened(keep(await openTunnel({ deviceId: 's', url: m.url }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 })));
    expect(await roundTrip(t, 'socks')).to.equal('socks[received 5]');
    expect(m.targets).to.deep.equal([`127.0.0.1:${target.port}`]);
  });

  it('SOCKS5: hands back bytes the target sent before we asked (server speaks first)', async () => {
    const m = await modem(startSocksModem());
    const t = opened(keep(await openTunnel({ deviceId: 's', url: m.url }, { host: '127.0.0.1', port: bannerTarget.port }, { timeoutMs: 5000 })));
    // The banner may be in `head` or still in the socket; either way it comes first and whole.
    expect(await roundTrip(t, 'z')).to.equal('HELLO\r\nz[received 1]');
  });

  it('SOCKS5: a target the modem cannot reach is refused', async () => {
    const m = await modem(startSocksModem());
    const r = await openTunnel({ deviceId: 's', url: m.url }, { host: '127.0.0.1', port: await deadPort() }, { timeoutMs: 5000 });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.kind).to.equal('refused');
  });

  it('SOCKS5: wrong modem credentials are auth-rejected', async () => {
    const m = await modem(startSocksModem());
    const r = await openTunnel({ deviceId: 's', url: m.url.replace('modem-user', 'nobody') }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 5000 });
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.kind).to.equal('auth-rejected');
  });

  it('a modem that is down is connect-failed', async () => {
    const port = await deadPort();
    for (const url of [`http://u:p@127.0.0.1:${port}`, `socks5://u:p@127.0.0.1:${port}`, null]) {
      const r = await openTunnel({ deviceId: 'x', url }, { host: '127.0.0.1', port }, { timeoutMs: 5000 });
      expect(r.ok, String(url)).to.equal(false);
      if (!r.ok) expect(r.error.kind, String(url)).to.equal('connect-failed');
    }
  });

  it('a modem that accepts and never answers times out, and its socket is closed', async () => {
    const silent = await startSilentServer();
    try {
      for (const scheme of ['http', 'socks5']) {
        const seen: net.Socket[] = [];
        const r = await openTunnel({ deviceId: 'x', url: `${scheme}://u:p@127.0.0.1:${silent.port}` }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 150, onSocket: (s) => seen.push(s) });
        expect(r.ok, scheme).to.equal(false);
        if (!r.ok) expect(r.error.kind, scheme).to.equal('timeout');
        expect(seen.length).to.equal(1);
        expect(seen[0]?.destroyed, scheme).to.equal(true);
      }
    } finally {
      await silent.close();
    }
  });

  it('abort stops an open in progress without blaming the upstream', async () => {
    const silent = await startSilentServer();
    try {
      const ac = new AbortController();
      const pending = openTunnel({ deviceId: 'x', url: `http://u:p@127.0.0.1:${silent.port}` }, { host: '127.0.0.1', port: target.port }, { timeoutMs: 10_000, signal: ac.signal });
      await once(silent.server, 'connection');
      ac.abort();
      const r = await pending;
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.kind).to.equal('aborted');
    } finally {
      await silent.close();
    }
  });

  it('an unusable upstream URL is invalid-upstream', async () => {
    for (const url of ['ftp://x:1', 'not a url', 'http://%zz@h:1']) {
      const r = await openTunnel({ deviceId: 'x', url }, { host: '127.0.0.1', port: 1 }, { timeoutMs: 1000 });
      expect(r.ok, url).to.equal(false);
      if (!r.ok) expect(r.error.kind, url).to.equal('invalid-upstream');
    }
  });
});

describe('gateway/upstream dialSignal', () => {
  const pair = async (): Promise<[net.Socket, () => Promise<void>]> => {
    const target = await startTcpTarget();
    const { connect } = await import('node:net');
    const client = connect(target.port, '127.0.0.1');
    await once(client, 'connect');
    return [client, async () => { client.destroy(); await target.close(); }];
  };

  it('aborts when the client closes, and lets go of the lease signal then', async () => {
    const [client, done] = await pair();
    const revoked = new AbortController();
    const signal = dialSignal(client, revoked.signal);
    expect(getEventListeners(revoked.signal, 'abort')).to.have.length(1);
    client.destroy();
    await once(client, 'close');
    expect(signal.aborted).to.equal(true);
    expect(getEventListeners(revoked.signal, 'abort')).to.have.length(0);
    await done();
  });

  it('aborts with the lease when it is revoked, and at once when either had ended already', async () => {
    const [client, done] = await pair();
    const revoked = new AbortController();
    const signal = dialSignal(client, revoked.signal);
    expect(signal.aborted).to.equal(false);
    revoked.abort(new Error('revoked'));
    expect(signal.aborted).to.equal(true);
    expect((signal.reason as Error).message).to.equal('revoked');
    expect(dialSignal(client, revoked.signal).aborted).to.equal(true);
    client.destroy();
    expect(dialSignal(client, new AbortController().signal).aborted).to.equal(true);
    await done();
  });
});
