import { expect } from 'chai';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { SocksClient } from 'socks';
import {
  decodeCredentials,
  decodeGreeting,
  decodeRequest,
  encodeAuthReply,
  encodeMethodSelection,
  encodeReply,
  METHOD,
  MAX_MESSAGE_BYTES,
  selectMethod,
  type Decoded,
  type Socks5Credentials,
  type Socks5Request,
} from '../../adapters/gateway/socks5/protocol.ts';

interface Seen {
  credentials?: Socks5Credentials;
  request?: Socks5Request;
}

/**
 * A minimal SOCKS5 server built only from the codec: checks the password, then echoes bytes
 * instead of dialling the target. Enough to prove a real client completes the handshake.
 */
async function startServer(password: string): Promise<{ port: number; seen: Seen; close: () => Promise<void> }> {
  const seen: Seen = {};
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let phase: 'greeting' | 'auth' | 'request' | 'open' = 'greeting';
    let buf: Buffer = Buffer.alloc(0);
    const fail = (r: Extract<Decoded<unknown>, { kind: 'error' }>): void => {
      if (r.error.respond) socket.end(r.error.respond);
      else socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      if (phase === 'open') {
        socket.write(chunk);
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_MESSAGE_BYTES * 3) return void socket.destroy();
      for (;;) {
        if (phase === 'greeting') {
          const r = decodeGreeting(buf);
          if (r.kind === 'need') return;
          if (r.kind === 'error') return fail(r);
          const method = selectMethod(r.value);
          if (method === METHOD.noAcceptable) return void socket.end(encodeMethodSelection(method));
          socket.write(encodeMethodSelection(method));
          buf = r.rest;
          phase = 'auth';
        } else if (phase === 'auth') {
          const r = decodeCredentials(buf);
          if (r.kind === 'need') return;
          if (r.kind === 'error') return fail(r);
          seen.credentials = r.value;
          if (r.value.password !== password) return void socket.end(encodeAuthReply(false));
          socket.write(encodeAuthReply(true));
          buf = r.rest;
          phase = 'request';
        } else {
          const r = decodeRequest(buf);
          if (r.kind === 'need') return;
          if (r.kind === 'error') return fail(r);
          seen.request = r.value;
          socket.write(encodeReply(0x00, { address: { type: 'ipv4', host: '127.0.0.1' }, port: 40000 }));
          phase = 'open';
          if (r.rest.length > 0) socket.write(r.rest);
          return;
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('gateway/socks5 codec against the real `socks` client', () => {
  let srv: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    srv = await startServer('pa:ss-word');
  });
  afterEach(async () => {
    await srv.close();
  });

  it('completes username/password auth and a domain CONNECT, then carries bytes', async () => {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: '127.0.0.1', port: srv.port, type: 5, userId: 'psx_acc1-mbl-us-sid-bot01_main-rot-sticky', password: 'pa:ss-word' },
      command: 'connect',
      destination: { host: 'example.com', port: 443 },
      timeout: 5000,
    });
    try {
      expect(srv.seen.credentials).to.deep.equal({ username: 'psx_acc1-mbl-us-sid-bot01_main-rot-sticky', password: 'pa:ss-word' });
      expect(srv.seen.request).to.deep.equal({ command: 'connect', address: { type: 'domain', host: 'example.com' }, port: 443 });
      socket.write('ping');
      const [echo] = (await once(socket, 'data')) as [Buffer];
      expect(echo.toString()).to.equal('ping');
    } finally {
      socket.destroy();
    }
  });

  it('the client sees a rejected password as an authentication failure', async () => {
    let error: unknown;
    try {
      const { socket } = await SocksClient.createConnection({
        proxy: { host: '127.0.0.1', port: srv.port, type: 5, userId: 'psx_acc1-mbl-us', password: 'wrong' },
        command: 'connect',
        destination: { host: 'example.com', port: 443 },
        timeout: 5000,
      });
      socket.destroy();
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/Authentication/i);
  });

  it('the client sees BIND refused with "command not supported"', async () => {
    // createConnection only does CONNECT; BIND needs the event-based client.
    const client = new SocksClient({
      proxy: { host: '127.0.0.1', port: srv.port, type: 5, userId: 'psx_acc1-mbl-us', password: 'pa:ss-word' },
      command: 'bind',
      destination: { host: '0.0.0.0', port: 0 },
      timeout: 5000,
    });
    const failed = once(client, 'error');
    client.connect();
    const [error] = (await failed) as [Error];
    expect(error.message).to.match(/CommandNotSupported/);
  });
});
