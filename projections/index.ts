import { agentsProjection } from './agents.ts';
import { devicesProjection } from './devices.ts';
import { poolAccountsProjection } from './pool-accounts.ts';
import { poolScoresProjection } from './pool-scores.ts';
import type { Projection } from './projection.ts';
import { poolKeysProjection } from './pool-keys.ts';
import { poolKeyAuditProjection } from './pool-key-audit.ts';
import { poolStockProjection } from './pool-stock.ts';
import { sessionsProjection } from './sessions.ts';

/** Every read model the service maintains. */
export const projections: readonly Projection[] = [devicesProjection, sessionsProjection, agentsProjection, poolAccountsProjection, poolScoresProjection,
  poolKeysProjection, poolKeyAuditProjection, poolStockProjection];
