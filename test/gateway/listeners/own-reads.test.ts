import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { BatchedMeter, pipe, type PipeOptions, type PipeResult } from '../../../adapters/gateway/pipe.ts';
import { LARGE_BYTES, LargeBufferQuota, OwnReads, ownReads, SMALL_BYTES, SMALL_READS_TO_SHRINK } from '../../../adapters/gateway/reads.ts';
import { pattern, waitFor } from './helpers.ts';

/**
 * A tunnel whose upstream socket reads into its own reused buffer (reads.ts), as the gateway opens
 * CONNECT and SOCKS5 tunnels: clientApp ⇄ [clientSide | pipe | upstreamSide (own reads)] ⇄ targetApp.
 * The buffer is read into again after every read, so these check that no byte is overwritten while a
 * write still points into it — with a slow client, with the budget holding a chunk back — and that the
 * buffer grows for bulk and shrinks back when the tunnel goes quiet.
 */
interface Rig {
  clientApp: net.Socket;
  targetApp: net.Socket;
  upstreamSide: net.Socket;
  reads: OwnReads;
  start(options?: Partial<PipeOptions>): Promise<PipeResult>;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const servers: net.Server[] = [];
  const listen = async () => {
    const server = net.createServer({ allowHalfOpen: true });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port };
  };
  const front = await listen();
  const back = await listen();
  const clientAccepted = once(front.server, 'connection') as Promise<[net.Socket]>;
  const clientApp = net.connect({ port: front.port, host: '127.0.0.1', allowHalfOpen: true });
  const [clientSide] = await clientAccepted;
  const targetAccepted = once(back.server, 'connection') as Promise<[net.Socket]>;
  const reads = new OwnReads();
  const upstreamSide = net.connect({ port: back.port, host: '127.0.0.1', allowHalfOpen: true, onread: reads.onread });
  ownReads(upstreamSide, reads);
  await once(upstreamSide, 'connect');
  upstreamSide.pause(); // as openTunnel hands it over
  const [targetApp] = await targetAccepted;
  for (const s of [clientApp, clientSide, upstreamSide, targetApp]) s.on('error', () => {});
  return {
    clientApp, targetApp, upstreamSide, reads,
    start: (options = {}) => pipe(clientSide, upstreamSide, { idleTimeoutMs: 10_000, meter: new BatchedMeter(() => {}, 50), ...options }),
    close: async () => {
      for (const s of [clientApp, clientSide, upstreamSide, targetApp]) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** Reads everything, pausing now and then (a slow client: the gateway's writes back up and complete later). */
function slowReader(socket: net.Socket): Promise<string> {
  const hash = createHash('sha256');
  let reads = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    if (++reads % 7 === 0) {
      socket.pause();
      setTimeout(() => socket.resume(), 3);
    }
  });
  return new Promise((resolve) => socket.once('end', () => resolve(hash.digest('hex'))));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('gateway tunnels reading into their own buffer', function () {
  this.timeout(60_000);
  let r: Rig | undefined;
  afterEach(async () => { await r?.close(); r = undefined; });

  it('delivers a bulk download intact to a slow client, in large reads', async () => {
    r = await rig();
    const total = 64 * 1024 * 1024;
    const payload = pattern(total);
    const done = r.start();
    const got = slowReader(r.clientApp);
    let largest = 0;
    const sampler = setInterval(() => { largest = Math.max(largest, r!.reads.bufferBytes); }, 1);
    // written in pieces of odd sizes so reads straddle them
    for (let at = 0; at < total;) {
      const n = Math.min(total - at, 300_007);
      if (!r.targetApp.write(payload.subarray(at, at + n))) await once(r.targetApp, 'drain');
      at += n;
    }
    r.targetApp.end();
    expect(await got).to.equal(sha(payload));
    clearInterval(sampler);
    expect(largest, 'the read buffer grew for the bulk transfer').to.equal(LARGE_BYTES);
    r.clientApp.end();
    expect((await done).bytesDown).to.equal(total);
  });

  it('keeps small reads intact while they wait behind a slow client (writes below the high-water mark)', async () => {
    r = await rig();
    const total = 6 * 1024 * 1024;
    const payload = pattern(total, 5);
    const done = r.start();
    r.clientApp.pause(); // the loopback buffers fill, then the gateway's writes to the client stay pending
    const got = new Promise<string>((resolve) => setTimeout(() => {
      resolve(slowReader(r!.clientApp));
      r!.clientApp.resume();
    }, 300));
    // a trickle: every piece is its own read, far below the write high-water mark
    for (let at = 0; at < total; at += 3000) {
      r.targetApp.write(payload.subarray(at, Math.min(total, at + 3000)));
      if ((at / 3000) % 4 === 0) await new Promise((res) => setImmediate(res));
    }
    r.targetApp.end();
    expect(await got).to.equal(sha(payload));
    r.clientApp.end();
    expect((await done).bytesDown).to.equal(total);
  });

  it('keeps a chunk the budget holds back intact until the refill lets it through', async () => {
    r = await rig();
    let available = 0;
    const slices = Array.from({ length: 40 }, () => 777_777);
    const budget = {
      take(n: number) { const t = Math.min(n, available); available -= t; return t; },
      async refill() { await new Promise((res) => setTimeout(res, 2)); available += slices.shift() ?? 0; return available > 0; },
    };
    const total = 24 * 1024 * 1024;
    const payload = pattern(total, 13);
    const done = r.start({ budget });
    const got = slowReader(r.clientApp);
    r.targetApp.end(payload);
    expect(await got).to.equal(sha(payload));
    r.clientApp.end();
    expect((await done).bytesDown).to.equal(total);
  });

  it('reads the handshake as data, then joins the tunnel; shrinks its buffer once the tunnel is quiet', async () => {
    r = await rig();
    // the handshake reads 'data' as from any socket, and what it keeps must not change under later reads
    const handshake: Buffer[] = [];
    const onHandshake = (c: Buffer) => handshake.push(c);
    r.upstreamSide.on('data', onHandshake);
    r.upstreamSide.resume();
    r.targetApp.write('HTTP/1.1 200 Connection established\r\n\r\n');
    await waitFor(() => Buffer.concat(handshake).length === 39, 'the handshake answer');
    r.upstreamSide.pause();
    r.upstreamSide.off('data', onHandshake);
    // the target speaks first (as SSH or SMTP do) before the tunnel is joined
    r.targetApp.write('220 ready\r\n');
    const chunks: Buffer[] = [];
    r.clientApp.on('data', (c: Buffer) => chunks.push(c));
    const done = r.start();
    await waitFor(() => Buffer.concat(chunks).toString() === '220 ready\r\n', 'the greeting at the client');
    let largest = 0;
    const sampler = setInterval(() => { largest = Math.max(largest, r!.reads.bufferBytes); }, 1);
    r.targetApp.write(pattern(8 * 1024 * 1024));
    await waitFor(() => Buffer.concat(chunks).length === 11 + 8 * 1024 * 1024, 'the bulk at the client');
    clearInterval(sampler);
    expect(largest, 'a large buffer for the bulk').to.equal(LARGE_BYTES);
    for (let i = 0; i < 12; i++) {
      r.targetApp.write(`line ${i}\r\n`);
      await new Promise((res) => setTimeout(res, 5));
    }
    await waitFor(() => Buffer.concat(chunks).toString().endsWith('line 11\r\n'), 'the lines at the client');
    expect(r.reads.bufferBytes, 'an idle tunnel holds a small buffer').to.equal(SMALL_BYTES);
    expect(Buffer.concat(handshake).toString()).to.equal('HTTP/1.1 200 Connection established\r\n\r\n');
    r.targetApp.end();
    r.clientApp.end();
    await done;
  });

  it('keeps one large buffer through a bulk transfer whose reads come in all sizes', () => {
    const quota = new LargeBufferQuota(4);
    const reads = new OwnReads(quota);
    reads.handler = () => {};
    const read = (n: number) => reads.onread.callback(n, reads.onread.buffer());
    read(SMALL_BYTES);
    const large = reads.onread.buffer();
    // loopback hands a bulk download over in reads of many sizes: none of these ends the burst
    for (let i = 0; i < 50; i++) read(i % 3 === 0 ? 64 * 1024 : i % 3 === 1 ? LARGE_BYTES : 100_000);
    expect(reads.onread.buffer(), 'the same large buffer, not a new one per short read').to.equal(large);
    expect(quota.held).to.equal(1);
  });

  it('holds no more large buffers than its quota, and gives them back at the end of a burst and on close', async () => {
    const quota = new LargeBufferQuota(1);
    const [a, b] = [new OwnReads(quota), new OwnReads(quota)];
    for (const reads of [a, b]) reads.handler = () => {};
    const read = (reads: OwnReads, n: number) => reads.onread.callback(n, reads.onread.buffer());
    read(a, SMALL_BYTES); // a read that fills the small buffer: the next one is large
    read(b, SMALL_BYTES); // the quota is taken: b stays small
    expect([a.bufferBytes, b.bufferBytes, quota.held]).to.deep.equal([LARGE_BYTES, SMALL_BYTES, 1]);
    read(a, LARGE_BYTES / 2); // still a burst
    expect(a.bufferBytes).to.equal(LARGE_BYTES);
    for (let i = 0; i < SMALL_READS_TO_SHRINK; i++) read(a, 100); // the burst ended: back to small, its place in the quota free
    read(b, SMALL_BYTES);
    expect([a.bufferBytes, b.bufferBytes, quota.held]).to.deep.equal([SMALL_BYTES, LARGE_BYTES, 1]);
    // a tunnel closing with a large buffer gives its place back
    r = await rig();
    const reads = r.reads;
    r.clientApp.pause(); // the tunnel stalls mid-burst, holding its large buffer
    r.targetApp.write(pattern(16 * 1024 * 1024));
    const done = r.start();
    await waitFor(() => reads.bufferBytes === LARGE_BYTES, 'the tunnel to take a large buffer');
    r.clientApp.destroy();
    await done;
    expect(reads.bufferBytes).to.equal(SMALL_BYTES);
  });
});
