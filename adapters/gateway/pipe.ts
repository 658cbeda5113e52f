import type net from 'node:net';

/**
 * Bidirectional client ⇄ upstream pipe for an open tunnel: byte counting in batches, half-close,
 * idle timeout, backpressure, and revocation.
 */

export const DEFAULT_METER_INTERVAL_MS = 250;
/** Modem tunnels stay open through long quiet periods (websockets, pooled keep-alive connections). */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * Accumulates byte counts and reports them at most once per interval, plus once at close: a tunnel
 * moving gigabytes makes a handful of calls per second, never one per chunk.
 */
export class BatchedMeter {
  private up = 0;
  private down = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly report: (bytesUp: number, bytesDown: number) => void,
    private readonly intervalMs: number = DEFAULT_METER_INTERVAL_MS,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  add(bytesUp: number, bytesDown: number): void {
    this.up += bytesUp;
    this.down += bytesDown;
    if (this.closed) return this.flush();
    if (this.timer === undefined && (this.up > 0 || this.down > 0)) this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.up === 0 && this.down === 0) return;
    const [up, down] = [this.up, this.down];
    this.up = 0;
    this.down = 0;
    try {
      this.report(up, down);
    } catch (e) {
      // The brain's bookkeeping failing must not take the tunnel (or the process) down with it.
      this.onError(e);
    }
  }

  /** Reports what is left; later adds are reported immediately. */
  close(): void {
    this.closed = true;
    this.flush();
  }
}

export interface PipeOptions {
  idleTimeoutMs: number;
  meter: BatchedMeter;
  /** Aborting closes both sides now (balance exhausted, credentials regenerated, shutdown). */
  signal?: AbortSignal;
  /** Client bytes already read during the handshake, bound for the target. */
  clientHead?: Buffer;
  /** Target bytes already read while opening the tunnel, bound for the client. */
  upstreamHead?: Buffer;
}

export type PipeEndReason = 'closed' | 'idle' | 'revoked' | 'error';

export interface PipeResult {
  reason: PipeEndReason;
  /** client → target */
  bytesUp: number;
  /** target → client */
  bytesDown: number;
  error?: Error;
}

/**
 * Resolves once both sockets have closed, after the last meter report. Each side's end is passed on
 * as an end (half-close: a client may finish sending and still read the whole answer); an error on
 * either side destroys both; once one side is fully closed the other is ended and destroyed once
 * its pending writes are flushed, since nothing it sends can go anywhere.
 */
export function pipe(client: net.Socket, upstream: net.Socket, options: PipeOptions): Promise<PipeResult> {
  return new Promise((resolve) => {
    let reason: PipeEndReason | undefined;
    let error: Error | undefined;
    let bytesUp = 0;
    let bytesDown = 0;
    const { meter, signal } = options;

    const stop = (why: PipeEndReason, e?: Error): void => {
      if (reason === undefined) {
        reason = why;
        error = e;
      }
      client.destroy();
      upstream.destroy();
    };
    const idle = setTimeout(() => stop('idle'), options.idleTimeoutMs);
    const onAbort = (): void => stop('revoked');

    const forward = (src: net.Socket, dst: net.Socket, count: (n: number) => void): void => {
      let waiting = false;
      const onDrain = (): void => {
        waiting = false;
        src.resume();
      };
      src.on('data', (chunk: Buffer) => {
        idle.refresh();
        if (dst.destroyed || dst.writableEnded) return;
        count(chunk.length);
        // Backpressure: stop reading until the slow side has taken what it has.
        if (!dst.write(chunk) && !waiting) {
          waiting = true;
          src.pause();
          dst.once('drain', onDrain);
        }
      });
      const onEnd = (): void => {
        if (!dst.destroyed) dst.end();
      };
      // The client may have finished sending during the handshake already.
      if (src.readableEnded) onEnd();
      else src.on('end', onEnd);
      src.once('close', () => {
        if (!dst.destroyed) dst.end(() => dst.destroy());
      });
      src.on('error', (e) => stop('error', e));
    };

    const up = (n: number): void => {
      bytesUp += n;
      meter.add(n, 0);
    };
    const down = (n: number): void => {
      bytesDown += n;
      meter.add(0, n);
    };
    if (options.clientHead !== undefined && options.clientHead.length > 0 && !upstream.destroyed) {
      up(options.clientHead.length);
      upstream.write(options.clientHead);
    }
    if (options.upstreamHead !== undefined && options.upstreamHead.length > 0 && !client.destroyed) {
      down(options.upstreamHead.length);
      client.write(options.upstreamHead);
    }
    forward(client, upstream, up);
    forward(upstream, client, down);

    const closed = (s: net.Socket): Promise<void> => new Promise((r) => (s.closed ? r() : s.once('close', () => r())));
    void Promise.all([closed(client), closed(upstream)]).then(() => {
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
      meter.close();
      resolve({ reason: reason ?? 'closed', bytesUp, bytesDown, ...(error === undefined ? {} : { error }) });
    });

    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    // Either socket may have been paused explicitly during the handshake; attaching 'data' does not undo that.
    client.resume();
    upstream.resume();
  });
}
