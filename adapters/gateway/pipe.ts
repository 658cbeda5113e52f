import type net from 'node:net';
import type { ByteBudget } from './brain.ts';
import { ownReadsOf } from './reads.ts';

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
  /**
   * Once one side has ended (half-close), the tunnel closes after this long without bytes: an
   * upstream that never answers a client's FIN must not hold the account's connection slot for
   * the whole idle timeout.
   */
  halfCloseGraceMs?: number;
  meter: BatchedMeter;
  /** Spent before each chunk is forwarded; a spent budget closes the tunnel ('exhausted'). */
  budget?: ByteBudget;
  /** Aborting closes both sides now (balance exhausted, credentials regenerated, shutdown). */
  signal?: AbortSignal;
  /** Client bytes already read during the handshake, bound for the target. */
  clientHead?: Buffer;
  /** Target bytes already read while opening the tunnel, bound for the client. */
  upstreamHead?: Buffer;
}

export const DEFAULT_HALF_CLOSE_GRACE_MS = 30_000;

export type PipeEndReason = 'closed' | 'idle' | 'revoked' | 'exhausted' | 'error';

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
 * its pending writes are flushed, since nothing it sends can go anywhere. Every chunk is paid for
 * from the budget before it is written, so a spent balance stops the bytes, not the next connection.
 */
export function pipe(client: net.Socket, upstream: net.Socket, options: PipeOptions): Promise<PipeResult> {
  return new Promise((resolve) => {
    let reason: PipeEndReason | undefined;
    let error: Error | undefined;
    let bytesUp = 0;
    let bytesDown = 0;
    const { meter, signal, budget } = options;

    const stop = (why: PipeEndReason, e?: Error): void => {
      if (reason === undefined) {
        reason = why;
        error = e;
      }
      client.destroy();
      upstream.destroy();
    };
    // Activity is a timestamp per chunk, not a timer refresh per chunk: the timer checks it when it fires.
    let lastActivity = performance.now();
    let quietLimit = options.idleTimeoutMs;
    let idle: NodeJS.Timeout;
    const watch = (): void => {
      const quiet = performance.now() - lastActivity;
      if (quiet >= quietLimit) return stop('idle');
      idle = setTimeout(watch, quietLimit - quiet);
    };
    idle = setTimeout(watch, quietLimit);
    let halfClosed = false;
    const onHalfClose = (): void => {
      if (halfClosed) return;
      halfClosed = true;
      quietLimit = Math.min(options.idleTimeoutMs, options.halfCloseGraceMs ?? DEFAULT_HALF_CLOSE_GRACE_MS);
      clearTimeout(idle);
      watch();
    };
    const onAbort = (): void => stop('revoked');

    const forward = (src: net.Socket, dst: net.Socket, count: (n: number) => void, head: Buffer | undefined): void => {
      /** dst is over its high-water mark: reading waits for 'drain'. */
      let waiting = false;
      /** A chunk waits for the budget: reading stays paused until it is through. */
      let held = false;
      /** A write of bytes in src's own read buffer (reads.ts) has not reached the kernel: no read may reuse it. */
      let owed = false;
      let endPending = false;
      const maybeResume = (): void => {
        if (!held && !waiting && !owed) src.resume();
      };
      const onDrain = (): void => {
        waiting = false;
        maybeResume();
      };
      const onBorrowedWritten = (): void => {
        owed = false;
        maybeResume();
      };
      const write = (chunk: Buffer, borrowed: boolean): void => {
        count(chunk.length);
        const ok = dst.write(chunk, borrowed ? onBorrowedWritten : undefined);
        if (borrowed && dst.writableLength > 0) {
          owed = true;
          src.pause();
        }
        // Backpressure: stop reading until the slow side has taken what it has.
        if (!ok && !waiting) {
          waiting = true;
          src.pause();
          dst.once('drain', onDrain);
        }
      };
      const send = (chunk: Buffer, borrowed: boolean): void => {
        const allowed = budget === undefined ? chunk.length : budget.take(chunk.length);
        if (allowed === chunk.length) return write(chunk, borrowed);
        if (allowed > 0) write(chunk.subarray(0, allowed), borrowed);
        held = true;
        src.pause();
        const rest = chunk.subarray(allowed); // src stays paused, so a borrowed read buffer is not read into meanwhile
        budget!.refill().then((more) => {
          held = false;
          if (!more) return stop('exhausted');
          if (dst.destroyed || dst.writableEnded) return;
          send(rest, borrowed);
          if (held) return;
          if (endPending) onEnd();
          else maybeResume();
        }, (e: unknown) => stop('error', e instanceof Error ? e : new Error(String(e))));
      };
      const onChunk = (chunk: Buffer, borrowed: boolean): void => {
        lastActivity = performance.now();
        if (dst.destroyed || dst.writableEnded) return;
        send(chunk, borrowed);
      };
      // Reads into src's own buffer come straight here; anything read before (the handshake) comes as 'data'.
      const reads = ownReadsOf(src);
      if (reads) reads.handler = (bytes) => onChunk(bytes, true);
      src.on('data', (chunk: Buffer) => onChunk(chunk, false));
      const onEnd = (): void => {
        if (held) return void (endPending = true);
        onHalfClose();
        if (!dst.destroyed) dst.end();
      };
      // Bytes read during the handshake go first; the client may have finished sending then already.
      if (head !== undefined && head.length > 0 && !dst.destroyed) send(head, false);
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
    forward(client, upstream, up, options.clientHead);
    forward(upstream, client, down, options.upstreamHead);

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
