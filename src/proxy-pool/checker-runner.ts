import { uuidv7 } from '../../adapters/ids.ts';
import type { CheckEnv } from '../../adapters/proxy-pool/checkers/checker.ts';
import { askJudgeDirectly } from '../../adapters/proxy-pool/checkers/judge.ts';
import { runCheckers } from '../../adapters/proxy-pool/checkers/registry.ts';
import { openGeo, type GeoLookup } from '../../adapters/proxy-pool/geo.ts';
import { poolChecksStreamId, type ProxyCheck } from '../../domain/proxy-pool/proxies.ts';
import { recheckDelaySeconds } from '../../domain/proxy-pool/score.ts';
import type { ProxyProtocol as ProtocolName } from '../../domain/proxy-pool/sources.ts';
import { dueProxies, type ProxyRow } from '../../projections/proxy-pool-proxies.ts';
import { poolHealthDecider, poolHealthStreamId } from '../../domain/proxy-pool/alerts.ts';
import { handleCommand } from '../commands/handle.ts';
import type { PoolContext } from './context.ts';

const FLUSH_EVERY = 250;

/**
 * Checks due proxies with at most POOL_CHECK_CONCURRENCY in flight, records the results in batches
 * (PoolProxiesChecked), and waits for the pool-score read model so the next round sees them.
 * Runs in the worker role; `judgeUrl` is resolved late because the API's port is known only after listen.
 */
export class CheckerRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private geo: GeoLookup | null = null;
  private own: { addresses: Set<string>; at: number } | null = null;
  inFlight = 0;
  maxInFlight = 0;
  checksDone = 0;
  lastRunAt: Date | null = null;

  constructor(private readonly ctx: PoolContext, private readonly judgeUrl: () => string | null) {}

  start(intervalMs = this.ctx.infra.config.POOL_CHECK_INTERVAL_MS) {
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.runOnce().then(() => undefined, (err) => this.ctx.infra.logger.error({ err }, 'pool checker run failed'));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async env(): Promise<CheckEnv> {
    const { config } = this.ctx.infra;
    const raw = this.judgeUrl();
    const judge = raw ? new URL(raw) : null;
    this.geo ??= await openGeo().catch(() => null);
    if (judge && (!this.own || Date.now() - this.own.at > 60_000)) {
      // Our own address as the judge sees it: a proxy that passes it on is transparent.
      const echo = await askJudgeDirectly(judge, config.POOL_CHECK_TIMEOUT_MS).catch(() => null);
      if (echo) this.own = { addresses: new Set([echo.remote_address]), at: Date.now() };
    }
    return { judgeUrl: judge, ownAddresses: this.own?.addresses ?? new Set(), timeoutMs: config.POOL_CHECK_TIMEOUT_MS, geo: this.geo };
  }

  /** One round: every proxy due now, in pages. Returns how many were checked. */
  async runOnce(): Promise<number> {
    const { infra } = this.ctx;
    const concurrency = infra.config.POOL_CHECK_CONCURRENCY;
    const env = await this.env();
    // Without a judge every proxy would look dead: wait until the API (or POOL_JUDGE_URL) gives one.
    if (!env.judgeUrl) return 0;
    let total = 0;
    const seen = new Set<string>();
    for (;;) {
      if (this.stopped) break;
      const due = (await dueProxies(infra.database.db, infra.clock.now(), Math.max(concurrency * 8, 500))).filter((p) => !seen.has(p.proxy_id));
      if (due.length === 0) break;
      for (const p of due) seen.add(p.proxy_id);
      const buffer: ProxyCheck[] = [];
      const flushes: Array<Promise<bigint>> = [];
      let next = 0;
      const work = async () => {
        while (next < due.length && !this.stopped) {
          const p = due[next++]!;
          this.inFlight++;
          this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          try {
            buffer.push(await this.checkOne(p, env));
          } finally {
            this.inFlight--;
          }
          if (buffer.length >= FLUSH_EVERY) flushes.push(this.flush(buffer.splice(0)));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, work));
      if (buffer.length) flushes.push(this.flush(buffer.splice(0)));
      const positions = await Promise.all(flushes);
      const last = positions.reduce((a, b) => (a > b ? a : b), 0n);
      // The next page must not offer what we just checked: wait for the read model.
      if (last > 0n) await infra.projector.waitFor(last, ['pp-proxies'], 30_000);
      total += due.length;
    }
    this.checksDone += total;
    if (total) {
      this.lastRunAt = infra.clock.now();
      await this.observePool();
    }
    return total;
  }

  /** proxy.pool_low: raised once when the active proxies fall below the threshold (and once again after a recovery). */
  private async observePool() {
    const { infra } = this.ctx;
    const row = await infra.database.db.selectFrom('pp_proxies').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'active').executeTakeFirstOrThrow();
    await handleCommand(infra, poolHealthDecider, poolHealthStreamId, { type: 'ObservePool', data: { active: Number(row.n), threshold: infra.config.POOL_LOW_THRESHOLD } }, { actor: 'checker', correlationId: 'pool-health' });
  }

  private async checkOne(p: ProxyRow, env: CheckEnv): Promise<ProxyCheck> {
    const { config, clock } = this.ctx.infra;
    const { results, findings, passed } = await runCheckers(
      { ip: p.ip, port: p.port, username: p.username, password: p.password, declaredProtocol: p.protocol as ProtocolName }, env);
    const failures = passed ? 0 : p.consecutive_failures + 1;
    const now = clock.now();
    const delay = recheckDelaySeconds(passed, failures, {
      activeSeconds: config.POOL_RECHECK_ACTIVE_SECONDS, deadBaseSeconds: config.POOL_RECHECK_DEAD_BASE_SECONDS, deadMaxSeconds: config.POOL_RECHECK_DEAD_MAX_SECONDS,
    });
    return {
      proxyId: p.proxy_id, checkedAt: now.toISOString(), passed,
      protocol: findings.protocol ?? null, anonymity: findings.anonymity ?? null, exitIp: findings.exitIp ?? null, country: findings.country ?? null,
      latencyMs: findings.latencyMs ?? findings.tcpMs ?? null,
      results, nextCheckAt: new Date(now.getTime() + delay * 1000).toISOString(),
    };
  }

  private async flush(checks: ProxyCheck[]): Promise<bigint> {
    const runId = uuidv7(this.ctx.infra.clock.now().getTime());
    const at = this.ctx.infra.clock.now().toISOString();
    const r = await this.ctx.infra.store.append(poolChecksStreamId(runId), [{
      type: 'PoolProxiesChecked', data: { runId, checks }, metadata: { correlationId: runId, causationId: null, actor: 'checker', occurredAt: at },
    }], { expectedRevision: 'no_stream' });
    return r.position;
  }
}
