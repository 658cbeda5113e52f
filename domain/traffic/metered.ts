/**
 * What the gateway carried for one account in one flush period: bytes up (client → target) and down,
 * summed over its connections. Appended in batches (every few seconds and when connections close),
 * never per chunk, to `traffic-<accountKey>`. The balance read models debit from these.
 */
export type AccountKind = 'session' | 'pool' | 'pak' | 'aport' | 'apool';

export type TrafficMetered = {
  type: 'TrafficMetered';
  data: {
    accountKind: AccountKind;
    accountId: string;
    bytesUp: string;
    bytesDown: string;
    connections: number;
    from: string;
    to: string;
    gateway: string;
    /** For a reseller's pool-access key (kind `pak`): the reseller account whose traffic it also spends. */
    payerAccountId?: string;
  };
};

export const accountKey = (kind: AccountKind, id: string) => `${kind}-${id}`;
export const trafficStreamId = (kind: AccountKind, id: string) => `traffic-${accountKey(kind, id)}`;
