import type { Infrastructure } from '../infrastructure.ts';
import { CheckerRunner } from './checker-runner.ts';
import { poolContext, type PoolContext } from './context.ts';
import { expireLeases } from './leases.ts';
import { NotificationDispatcher, notifiersFromConfig } from './notifications.ts';
import { SourceScheduler } from './scheduler.ts';

/** The proxy pool's part of the worker role: scheduled scrapes, the checker runner, lease expiry. */
export class PoolWorker {
  readonly ctx: PoolContext;
  readonly checker: CheckerRunner;
  readonly scheduler: SourceScheduler;
  readonly notifications: NotificationDispatcher;
  private timer: NodeJS.Timeout | undefined;
  private judge: string | null;

  constructor(infra: Infrastructure, judgeUrl: string | null = infra.config.POOL_JUDGE_URL ?? null) {
    this.ctx = poolContext(infra);
    this.judge = judgeUrl;
    this.checker = new CheckerRunner(this.ctx, () => this.judge);
    this.scheduler = new SourceScheduler(this.ctx);
    this.notifications = new NotificationDispatcher(infra, notifiersFromConfig(infra.config));
  }

  /** The API's own /judge, once the API listens (when POOL_JUDGE_URL is not set). */
  useJudge(url: string) { this.judge ??= url; }

  async start() {
    await this.notifications.start();
    this.scheduler.start();
    this.checker.start();
    const sweep = () => { expireLeases(this.ctx).catch((err) => this.ctx.infra.logger.error({ err }, 'lease expiry failed')).finally(() => { this.timer = setTimeout(sweep, 5000); }); };
    this.timer = setTimeout(sweep, 5000);
  }

  async stop() {
    clearTimeout(this.timer);
    this.scheduler.stop();
    await this.checker.stop();
    await this.notifications.stop();
  }
}
