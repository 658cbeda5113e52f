import { Cron } from 'croner';
import { activeScheduledSources } from '../../projections/proxy-pool-sources.ts';
import type { PoolContext } from './context.ts';
import { scrapeSource } from './sources.ts';

/**
 * Scrapes each active source on its cron_schedule (croner). The job list is reconciled with the
 * sources read model every `reconcileMs`, so sources added, changed or deleted anywhere are picked up.
 * Several workers may run: a short claim in the KeyValue store lets one of them scrape a given tick.
 */
export class SourceScheduler {
  private readonly jobs = new Map<string, { expr: string; cron: Cron }>();
  private timer: NodeJS.Timeout | undefined;
  scrapes = 0;

  constructor(private readonly ctx: PoolContext) {}

  start(reconcileMs = 10_000) {
    const tick = () => { this.reconcile().catch((err) => this.ctx.infra.logger.error({ err }, 'pool scheduler failed')).finally(() => { this.timer = setTimeout(tick, reconcileMs); }); };
    tick();
  }

  async reconcile() {
    const wanted = new Map((await activeScheduledSources(this.ctx.infra.database.db)).map((s) => [s.source_id, s.cron_schedule]));
    for (const [id, job] of this.jobs) {
      if (wanted.get(id) !== job.expr) { job.cron.stop(); this.jobs.delete(id); }
    }
    for (const [id, expr] of wanted) {
      if (this.jobs.has(id)) continue;
      try {
        this.jobs.set(id, { expr, cron: new Cron(expr, { protect: true }, () => this.fire(id)) });
      } catch (err) {
        this.ctx.infra.logger.warn({ err, sourceId: id }, 'bad cron schedule');
      }
    }
  }

  private async fire(sourceId: string) {
    const minute = Math.floor(Date.now() / 60_000);
    if (!(await this.ctx.infra.kv.set(`pp-scrape-${sourceId}-${minute}`, '1', { ttlMs: 120_000, onlyIfAbsent: true }))) return;
    try {
      await scrapeSource(this.ctx, sourceId, { actor: 'scheduler', correlationId: `cron-${sourceId}-${minute}` });
      this.scrapes++;
    } catch (err) {
      this.ctx.infra.logger.warn({ err, sourceId }, 'scheduled scrape failed');
    }
  }

  get scheduled() { return [...this.jobs.keys()]; }

  stop() {
    clearTimeout(this.timer);
    for (const job of this.jobs.values()) job.cron.stop();
    this.jobs.clear();
  }
}
