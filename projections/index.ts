import { accountApiKeysProjection } from './account-api-keys.ts';
import { accountNotificationsProjection } from './account-notifications.ts';
import { accountsProjection } from './accounts.ts';
import { accountPortsProjection } from './account-ports.ts';
import { accountProxyLoginsProjection } from './account-proxy-logins.ts';
import { accountRotationsProjection } from './account-rotations.ts';
import { accountUsageProjection } from './account-usage.ts';
import { agentsProjection } from './agents.ts';
import { devicesProjection } from './devices.ts';
import { poolAccountsProjection } from './pool-accounts.ts';
import { poolScoresProjection } from './pool-scores.ts';
import { peerEarningsProjection } from './peer-earnings.ts';
import { peerPayoutsProjection } from './peer-payouts.ts';
import { peersProjection } from './peers.ts';
import type { Projection } from './projection.ts';
import { poolKeysProjection } from './pool-keys.ts';
import { poolKeyAuditProjection } from './pool-key-audit.ts';
import { poolStockProjection } from './pool-stock.ts';
import { proxyPoolAccountsProjection } from './proxy-pool-accounts.ts';
import { proxyPoolChecksProjection } from './proxy-pool-checks.ts';
import { proxyPoolCreditsProjection } from './proxy-pool-credits.ts';
import { proxyPoolLeasesProjection } from './proxy-pool-leases.ts';
import { proxyPoolProxiesProjection } from './proxy-pool-proxies.ts';
import { proxyPoolSourcesProjection } from './proxy-pool-sources.ts';
import { sessionsProjection } from './sessions.ts';

/** Every read model the service maintains. */
export const projections: readonly Projection[] = [devicesProjection, sessionsProjection, agentsProjection, poolAccountsProjection, poolScoresProjection,
  peersProjection, peerEarningsProjection, peerPayoutsProjection,
  accountsProjection, accountApiKeysProjection, accountPortsProjection, accountRotationsProjection, accountUsageProjection, accountNotificationsProjection, accountProxyLoginsProjection,
  poolKeysProjection, poolKeyAuditProjection, poolStockProjection,
  // proxy pool (seed 003)
  proxyPoolAccountsProjection, proxyPoolCreditsProjection, proxyPoolSourcesProjection, proxyPoolProxiesProjection, proxyPoolChecksProjection, proxyPoolLeasesProjection,
];
