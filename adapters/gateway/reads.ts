import type net from 'node:net';

/**
 * A tunnel socket's reads into a buffer the tunnel owns (net's `onread`), instead of a fresh 64 KB
 * allocation per read pushed through the stream machinery: the read goes straight to the other side's
 * write. On loopback this moved a bulk download from 0.62 to about 1.0 × squid's throughput (bench:gateway).
 *
 * The buffer is read into again as soon as the handler returns, so a handler that could not hand its
 * bytes to the kernel at once (a pending write still points into the buffer) pauses the socket until
 * that write completes. Its size adapts: small while the tunnel is quiet (an idle tunnel holds
 * SMALL_BYTES) and LARGE_BYTES once reads fill it, back after a run of small reads.
 *
 * Until a handler is set (the upstream handshake) reads are copied and pushed into the socket's
 * readable side as usual, so handshake code reads 'data' as from any socket.
 */

export const SMALL_BYTES = 16 * 1024;
/**
 * 128 KB, not more: the bytes are copied in from one socket and out to the other, and a read that outgrows the
 * CPU cache between the two copies costs more CPU per byte (1 MB: 1.25–1.31 × squid's and dante's CPU per MB;
 * 128 KB: 0.93–1.12 ×, median of eight interleaved bench:gateway runs each).
 */
export const LARGE_BYTES = 128 * 1024;
/** Reads in a row under 1/8 of a large buffer that end a burst (the buffer shrinks back). */
export const SMALL_READS_TO_SHRINK = 8;
/** Large buffers held at once by the whole process (128 MB): bulk tunnels beyond it read in small ones (memory stays bounded). */
export const MAX_LARGE_BUFFERS = 1024;

/** How many large buffers may be held at once, shared by the tunnels that draw on it. */
export class LargeBufferQuota {
  held = 0;
  constructor(readonly limit: number = MAX_LARGE_BUFFERS) {}
}
const processQuota = new LargeBufferQuota();

/** Called with each read; `bytes` is only valid until the handler returns (or, if it paused, until it resumes). */
export type ReadHandler = (bytes: Buffer) => void;

export class OwnReads {
  handler: ReadHandler | undefined;
  private buffer = Buffer.allocUnsafe(SMALL_BYTES);
  private smallReads = 0;
  socket: net.Socket | undefined;

  constructor(private readonly quota: LargeBufferQuota = processQuota) {}

  /** The `onread` option for net.connect. */
  readonly onread = {
    buffer: (): Buffer => this.buffer,
    callback: (nread: number, buf: Uint8Array): boolean => {
      const bytes = (buf as Buffer).subarray(0, nread);
      this.adapt(nread);
      if (this.handler === undefined) return this.socket?.push(Buffer.from(bytes)) ?? true;
      this.handler(bytes);
      return !(this.socket?.isPaused() ?? false);
    },
  };

  /**
   * The next read's buffer: large when a read filled the small one (and the quota has room), small again
   * after SMALL_READS_TO_SHRINK reads in a row under 1/8 of it — the end of a burst, so a tunnel that goes
   * quiet holds the small one.
   */
  private adapt(nread: number): void {
    const large = this.buffer.length === LARGE_BYTES;
    if (!large && nread === this.buffer.length && this.quota.held < this.quota.limit) {
      this.quota.held++;
      this.buffer = Buffer.allocUnsafe(LARGE_BYTES);
    } else if (large) {
      // A bulk transfer mixes short reads with full ones: shrinking at the first short one and growing at the
      // next full one reallocated the large buffer dozens of times per 100 MB (GC time).
      this.smallReads = nread < LARGE_BYTES / 8 ? this.smallReads + 1 : 0;
      if (this.smallReads >= SMALL_READS_TO_SHRINK) this.release();
    }
  }

  /** Back to the small buffer, the large one's place in the quota given back (also when the socket closes). */
  release(): void {
    if (this.buffer.length !== LARGE_BYTES) return;
    this.quota.held--;
    this.smallReads = 0;
    this.buffer = Buffer.allocUnsafe(SMALL_BYTES);
  }

  /** Bytes this socket's next read goes into (tests). */
  get bufferBytes(): number {
    return this.buffer.length;
  }
}

const owned = new WeakMap<net.Socket, OwnReads>();

/** Remembers that `socket` was opened with `reads.onread`. */
export function ownReads(socket: net.Socket, reads: OwnReads): void {
  reads.socket = socket;
  owned.set(socket, reads);
  socket.once('close', () => reads.release());
}

export function ownReadsOf(socket: net.Socket): OwnReads | undefined {
  return owned.get(socket);
}
