import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Database } from '../adapters/db/database.ts';
import type { PaymentProcessor } from '../adapters/payments/port.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { createApp } from './http/app.ts';
import { answerClientError } from './http/errors.ts';
import { openInfrastructure, type Infrastructure } from './infrastructure.ts';
import { SessionWorker } from './x402/worker.ts';
import { AccountWorker } from './accounts/worker.ts';
import { startGatewayRole, type GatewayRole } from './gateway/role.ts';
import { startRelayRole, type RelayRole } from './peers/relay-role.ts';
import { startPayoutWorker, type PayoutWorker } from './peers/payout-worker.ts';
import { PoolKeyWorker } from './reseller/worker.ts';
import { PoolWorker } from './proxy-pool/worker.ts';

export interface Running {
  infra: Infrastructure;
  /** The gateway role, when it runs here. */
  gateway: GatewayRole | undefined;
  /** The relay role (peers' WebSocket), when it runs here. */
  relay: RelayRole | undefined;
  /** Peer payouts, when the worker role runs here and a treasury is configured. */
  payouts: PayoutWorker | undefined;
  /** The proxy pool's scheduler and checker runner, when the worker role runs here. */
  pool: PoolWorker | undefined;
  /** The API's address when the api role runs. */
  url: string | null;
  stop(): Promise<void>;
}

/** Starts the configured roles in this process; stop() drains requests, then closes everything. */
export async function startService(config: Config, clock: Clock, logger: Logger, given: { database?: Database; payments?: PaymentProcessor } = {}): Promise<Running> {
  const infra = await openInfrastructure(config, clock, logger, given);
  let server: Server | undefined;
  let worker: SessionWorker | undefined;
  let accountWorker: AccountWorker | undefined;
  let poolKeyWorker: PoolKeyWorker | undefined;
  let gateway: GatewayRole | undefined;
  let relay: RelayRole | undefined;
  let payouts: PayoutWorker | undefined;
  let pool: PoolWorker | undefined;
  try {
    if (config.ROLES.includes('projector')) await infra.projector.start();
    if (config.ROLES.includes('relay')) relay = await startRelayRole(infra);
    if (config.ROLES.includes('gateway')) gateway = await startGatewayRole(infra);
    if (config.ROLES.includes('worker')) payouts = startPayoutWorker(infra);
    if (config.ROLES.includes('worker')) {
      worker = new SessionWorker(infra);
      worker.start(config.WORKER_INTERVAL_MS);
      accountWorker = new AccountWorker(infra);
      accountWorker.start(config.WORKER_INTERVAL_MS);
      poolKeyWorker = new PoolKeyWorker(infra);
      poolKeyWorker.start(config.WORKER_INTERVAL_MS);
      pool = new PoolWorker(infra);
      await pool.start();
    }
    if (config.ROLES.includes('api')) {
      server = createApp(infra).listen(config.PORT, config.HOST);
      server.on('clientError', answerClientError); // Node's own 400/431 in the API's JSON error shape
      await once(server, 'listening');
    }
  } catch (error) {
    await gateway?.stop();
    await relay?.stop();
    await payouts?.stop();
    await worker?.stop();
    await accountWorker?.stop();
    await poolKeyWorker?.stop();
    await pool?.stop();
    await infra.close();
    throw error;
  }
  const address = server?.address();
  const url = address && typeof address === 'object' ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : null;
  if (url) pool?.useJudge(`${url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:')}/judge`);
  logger.info({ roles: config.ROLES, url }, 'service started');
  return {
    infra,
    gateway,
    relay,
    payouts,
    pool,
    url,
    async stop() {
      if (server) {
        const closed = once(server, 'close');
        server.close();
        server.closeIdleConnections();
        const force = setTimeout(() => server!.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(force);
      }
      await worker?.stop();
      await accountWorker?.stop();
      await poolKeyWorker?.stop();
      await pool?.stop();
      await gateway?.stop();
      await relay?.stop();
      await payouts?.stop();
      await infra.close();
      logger.info('service stopped');
    },
  };
}
