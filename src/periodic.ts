import type { Logger } from 'pino';

/**
 * A worker duty run as passes: `tick()` is one pass (tests call it with an injected clock), `start`
 * repeats it every `intervalMs` after the previous pass ended (passes never overlap), `stop` waits for
 * the pass under way.
 */
export abstract class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  protected constructor(private readonly logger: Pick<Logger, 'error'>, private readonly what: string) {}

  abstract tick(): Promise<unknown>;

  start(intervalMs: number): void {
    const loop = () => {
      this.running = this.tick().catch((err) => this.logger.error({ err }, `${this.what} pass failed`));
      this.running.finally(() => { if (this.timer) this.timer = setTimeout(loop, intervalMs); });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
