import net from 'node:net';
import { SocksClient } from 'socks';

/** Every byte the client sent and received on a tunnel (what the customer got, headers included). */
export interface Delivered { up: number; down: number }

function drain(socket: net.Socket, request: string): Promise<Delivered> {
  return new Promise((resolve) => {
    let down = 0;
    socket.on('data', (d: Buffer) => { down += d.length; });
    socket.on('error', () => {});
    socket.once('close', () => resolve({ up: request.length, down }));
    socket.write(request);
  });
}

/** A GET through an HTTP CONNECT tunnel; nothing delivered when the tunnel is refused. */
export async function viaConnect(port: number, user: string, pass: string, originPort: number, path: string): Promise<Delivered> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\nProxy-Authorization: Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) head = Buffer.concat([head, await new Promise<Buffer>((r) => socket.once('data', r))]);
  if (!/^HTTP\/1\.1 200/.test(head.toString())) { socket.destroy(); return { up: 0, down: 0 }; }
  return drain(socket, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
}

/** The same through SOCKS5. */
export async function viaSocks(port: number, user: string, pass: string, originPort: number, path: string): Promise<Delivered> {
  const { socket } = await SocksClient.createConnection({
    proxy: { host: '127.0.0.1', port, type: 5, userId: user, password: pass },
    command: 'connect', destination: { host: '127.0.0.1', port: originPort },
  });
  return drain(socket, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
}
