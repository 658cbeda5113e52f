import { expect } from 'chai';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { BatchedMeter, pipe, type PipeOptions, type PipeResult } from '../../../adapters/gateway/pipe.ts';
import { pattern, waitFor } from './helpers.ts';

/**
 * Two real TCP connections joined by `pipe`, as the gateway holds them:
 *   clientApp ⇄ [clientSide | pipe | upstreamSide] ⇄ targetApp
 */
interface Rig {
  clientApp: net.Socket;
  targetApp: net.Socket;
  clientSide: net.Socket;
  upstreamSide: net.Socket;
  meters: Array<[number, number]>;
  done: Promise<PipeResult>;
  close(): Promise<void>;
}

async function socketPair(): Promise<{ near: net.Socket; far: net.Socket; close: () => Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const far = net.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const [near] = await accepted;
  await once(far, 'connect').catch(() => {});
  for (const s of [near, far]) s.on('error', () => {});
  return { near, far, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function rig(options: Partial<PipeOptions> & { meterIntervalMs?: number } = {}): Promise<Rig> {
  const a = await socketPair();
  const b = await socketPair();
  const meters: Array<[number, number]> = [];
  const meter = new BatchedMeter((u, d) => meters.push([u, d]), options.meterIntervalMs ?? 250);
  const done = pipe(a.near, b.near, { idleTimeoutMs: 10_000, meter, ...options });
  return {
    clientApp: a.far,
    clientSide: a.near,
    upstreamSide: b.near,
    targetApp: b.far,
    meters,
    done,
    close: async () => {
      for (const s of [a.near, a.far, b.near, b.far]) s.destroy();
      await Promise.all([a.close(), b.close()]);
    },
  };
}

function collect(socket: net.Socket): { data: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return { data: () => Buffer.concat(chunks), ended: new Promise((r) => socket.once('end', () => r())) };
}

const sum = (m: Array<[number, number]>): [number, number] => m.reduce<[number, number]>(([u, d], [a, b]) => [u + a, d + b], [0, 0]);

describe('gateway/pipe', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.close();
    r = undefined;
  });

  it('carries bytes both ways and counts exactly what crossed, in few meter calls', async () => {
    r = await rig();
    const atTarget = collect(r.targetApp);
    const atClient = collect(r.clientApp);
    const up = pattern(3 * 1024 * 1024);
    const down = pattern(2 * 1024 * 1024, 7);
    r.clientApp.end(up);
    r.targetApp.end(down);
    const result = await r.done;
    await Promise.all([atTarget.ended, atClient.ended]);
    expect(atTarget.data().equals(up)).to.equal(true);
    expect(atClient.data().equals(down)).to.equal(true);
    expect(result).to.include({ reason: 'closed', bytesUp: up.length, bytesDown: down.length });
    expect(sum(r.meters)).to.deep.equal([up.length, down.length]);
    // Hundreds of chunks went through; batching keeps reports to a handful.
    expect(r.meters.length).to.be.lessThan(20);
  });

  it('delivers the handshake leftovers first, counted', async () => {
    r = await rig({ clientHead: Buffer.from('early-up '), upstreamHead: Buffer.from('early-down ') });
    const atTarget = collect(r.targetApp);
    const atClient = collect(r.clientApp);
    r.clientApp.end('rest-up');
    r.targetApp.end('rest-down');
    const result = await r.done;
    await Promise.all([atTarget.ended, atClient.ended]);
    expect(atTarget.data().toString()).to.equal('early-up rest-up');
    expect(atClient.data().toString()).to.equal('early-down rest-down');
    expect([result.bytesUp, result.bytesDown]).to.deep.equal([16, 20]);
  });

  it('half-close: the client stops sending and still reads the whole answer', async () => {
    r = await rig();
    const atClient = collect(r.clientApp);
    r.clientApp.end('request');
    const [got] = (await once(r.targetApp, 'data')) as [Buffer];
    await once(r.targetApp, 'end'); // the client's FIN reached the target…
    r.targetApp.end(`answer to ${got.toString()}`); // …which answers only after it
    await atClient.ended;
    expect(atClient.data().toString()).to.equal('answer to request');
    expect((await r.done).reason).to.equal('closed');
  });

  it('closes both sides after the idle timeout', async () => {
    r = await rig({ idleTimeoutMs: 100 });
    r.clientApp.write('one chunk, then silence');
    const result = await r.done;
    expect(result.reason).to.equal('idle');
    expect(r.clientSide.destroyed && r.upstreamSide.destroyed).to.equal(true);
  });

  it('closes both sides when the signal aborts, reporting what was counted', async () => {
    const ac = new AbortController();
    r = await rig({ signal: ac.signal });
    r.clientApp.write('abc');
    await once(r.targetApp, 'data');
    ac.abort();
    const result = await r.done;
    expect(result).to.include({ reason: 'revoked', bytesUp: 3 });
    expect(sum(r.meters)).to.deep.equal([3, 0]);
  });

  it('an error on one side destroys both', async () => {
    r = await rig();
    r.upstreamSide.destroy(new Error('boom'));
    const result = await r.done;
    expect(result.reason).to.equal('error');
    expect(r.clientSide.destroyed).to.equal(true);
  });

  it('backpressure: stops reading the client while the target does not read, loses nothing', async () => {
    r = await rig();
    r.targetApp.pause();
    const total = 48 * 1024 * 1024;
    const payload = pattern(total);
    r.clientApp.end(payload);
    // Loopback buffers hold a few MB; the pipe must pause its source rather than buffer the rest.
    await waitFor(() => r!.clientSide.isPaused(), 'the pipe to pause the client side', 10_000);
    expect(r.upstreamSide.writableLength).to.be.lessThan(8 * 1024 * 1024);
    const atTarget = collect(r.targetApp);
    r.targetApp.resume();
    await atTarget.ended;
    expect(atTarget.data().equals(payload)).to.equal(true);
    r.targetApp.end();
    expect((await r.done).bytesUp).to.equal(total);
  });
});

describe('gateway/pipe BatchedMeter', () => {
  it('reports at most once per interval and everything at close', async () => {
    const calls: Array<[number, number]> = [];
    const m = new BatchedMeter((u, d) => calls.push([u, d]), 50);
    for (let i = 0; i < 1000; i++) m.add(1, 2);
    expect(calls).to.deep.equal([]);
    await waitFor(() => calls.length === 1, 'the first batch');
    expect(calls).to.deep.equal([[1000, 2000]]);
    m.add(5, 0);
    m.close();
    expect(calls).to.deep.equal([
      [1000, 2000],
      [5, 0],
    ]);
    m.add(0, 1); // after close: immediate
    expect(calls.length).to.equal(3);
  });

  it('a throwing reporter is contained', () => {
    const errors: unknown[] = [];
    const m = new BatchedMeter(
      () => {
        throw new Error('ledger down');
      },
      50,
      (e) => errors.push(e),
    );
    m.add(1, 1);
    m.close();
    expect(errors.length).to.equal(1);
  });

  describe('in-flight byte budget (#8)', () => {
    /** A budget handing out `slices` one by one, each after a short wait, as a ledger would. */
    const budgetOf = (slices: number[]) => {
      let available = 0;
      const asked: number[] = [];
      return {
        asked,
        take(n: number) { const t = Math.min(n, available); available -= t; return t; },
        async refill() { await new Promise((r) => setTimeout(r, 5)); const next = slices.shift(); asked.push(next ?? 0); available += next ?? 0; return available > 0; },
      };
    };

    it('forwards exactly what the budget allows, across refills, then closes the tunnel as exhausted', async () => {
      const budget = budgetOf([100_000, 150_000, 50_000]);
      const r = await rig({ budget });
      try {
        const got = collect(r.clientApp);
        r.targetApp.write(pattern(1_000_000));
        const result = await r.done;
        expect(result.reason).to.equal('exhausted');
        expect(result.bytesDown).to.equal(300_000);
        await waitFor(() => got.data().length === 300_000 || r.clientApp.destroyed, 'the client to read');
        expect(got.data().equals(pattern(300_000)), 'the first 300,000 bytes, in order').to.equal(true);
        expect(sum(r.meters)).to.deep.equal([0, 300_000]);
      } finally {
        await r.close();
      }
    });

    it('spends one budget for both directions', async () => {
      const budget = budgetOf([1_000]);
      const r = await rig({ budget });
      try {
        r.clientApp.write(pattern(600));
        await waitFor(() => r.targetApp.bytesRead >= 600, 'the upload');
        r.targetApp.write(pattern(1_000));
        const result = await r.done;
        expect(result.reason).to.equal('exhausted');
        expect(result.bytesUp + result.bytesDown).to.equal(1_000);
      } finally {
        await r.close();
      }
    });
  });
});
