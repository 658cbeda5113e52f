import { accountApiKeysProjection } from './account-api-keys.ts';
import { accountsProjection } from './accounts.ts';
import { agentsProjection } from './agents.ts';
import { devicesProjection } from './devices.ts';
import { poolAccountsProjection } from './pool-accounts.ts';
import { poolScoresProjection } from './pool-scores.ts';
import { peerEarningsProjection } from './peer-earnings.ts';
import { peerPayoutsProjection } from './peer-payouts.ts';
import { peersProjection } from './peers.ts';
import type { Projection } from './projection.ts';
import { sessionsProjection } from './sessions.ts';

/** Every read model the service maintains. */
export const projections: readonly Projection[] = [devicesProjection, sessionsProjection, agentsProjection, poolAccountsProjection, poolScoresProjection,
  peersProjection, peerEarningsProjection, peerPayoutsProjection,
  accountsProjection, accountApiKeysProjection];
