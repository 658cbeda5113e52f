/**
 * Reseller pool-access keys (`pak_…`): a reseller account mints per-customer keys that reach the pool
 * gateway with the reseller's `psx_<resellerId>` username. Each key is its own stream (`pak-<keyId>`);
 * the raw key appears only sealed (reveal reads it back) and as a sha256 hash (the gateway's lookup).
 * Traffic is counted in bytes (1 GB = 10^9 bytes); caps are whole GB, carried as byte strings.
 */
export type QualityTier = 'safe' | 'standard';
export type AuthMethod = 'jwt' | 'apiKey' | 'gateway' | 'system';

/** Who asked, for the audit log (the seed's audit event fields). */
export interface AuditContext {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  authMethod: AuthMethod;
}

/** The secret in its two stored forms, plus the prefix that may be shown. */
export interface KeyMaterial {
  hash: string;
  sealed: string;
  prefix: string;
}

export type SuspensionReason = 'cap_exceeded' | 'expired';

export type PoolKeyEvent =
  | {
      type: 'PoolKeyCreated';
      data: {
        keyId: string; resellerId: string; label: string; keyHash: string; sealedKey: string; keyPrefix: string;
        trafficCapBytes: string | null; qualityTier: QualityTier; expiresAt: string | null;
        operationId: string; createdAt: string; audit: AuditContext;
      };
    }
  | {
      type: 'PoolKeyUpdated';
      data: {
        keyId: string; resellerId: string;
        changes: { label?: string; enabled?: boolean; trafficCapBytes?: string | null; qualityTier?: QualityTier; expiresAt?: string | null };
        updatedAt: string; audit: AuditContext;
      };
    }
  | {
      type: 'PoolKeyToppedUp';
      data: {
        keyId: string; resellerId: string; addTrafficBytes: string | null; extendDays: number | null;
        trafficCapBytes: string | null; expiresAt: string | null; operationId: string; toppedUpAt: string; audit: AuditContext;
      };
    }
  | { type: 'PoolKeyRegenerated'; data: { keyId: string; resellerId: string; keyHash: string; sealedKey: string; keyPrefix: string; operationId: string; regeneratedAt: string; audit: AuditContext } }
  | { type: 'PoolKeyRevealed'; data: { keyId: string; resellerId: string; keyPrefix: string; label: string; revealedAt: string; audit: AuditContext } }
  | { type: 'PoolKeyDeleted'; data: { keyId: string; resellerId: string; deletedAt: string; audit: AuditContext } }
  | {
      type: 'PoolKeyAutoSuspended';
      data: { keyId: string; resellerId: string; reason: SuspensionReason; label: string; usedBytes: string; trafficCapBytes: string | null; expiresAt: string | null; suspendedAt: string };
    };

export const poolKeyEventTypes = [
  'PoolKeyCreated', 'PoolKeyUpdated', 'PoolKeyToppedUp', 'PoolKeyRegenerated', 'PoolKeyRevealed', 'PoolKeyDeleted', 'PoolKeyAutoSuspended',
] as const satisfies readonly PoolKeyEvent['type'][];

export const poolKeyStreamId = (keyId: string) => `pak-${keyId}`;

/**
 * What the gateway saw of one key in one minute: auth successes and failures summed (never one event
 * per connection), appended by each gateway instance when it flushes, to `pakauth-<keyId>`.
 */
export type PoolKeyGatewayAuthRecorded = {
  type: 'PoolKeyGatewayAuthRecorded';
  data: {
    keyId: string; resellerId: string; minute: string; successes: number; failures: number;
    lastIp: string | null; lastFailureReason: string | null; usedBytes: string | null; trafficCapBytes: string | null; gateway: string;
  };
};

export const poolKeyAuthStreamId = (keyId: string) => `pakauth-${keyId}`;
