import type { SlotType } from '../accounts/events.ts';

/**
 * Account ports (seed 002): a port like an x402 port, owned by an account instead of a session.
 * One stream per port (`aport-<id>`): its device, credentials (hashes; the rotation token sealed,
 * because GET /v1/ports shows it), fingerprint, rotation settings and every rotation.
 */
export const OS_FINGERPRINTS = [
  { value: '', label: 'None (Default)' },
  { value: 'windows:1', label: 'Windows 10' },
  { value: 'macosx:4', label: 'macOS / iPhone 13' },
  { value: 'ios:2', label: 'iOS (Real iPhone)' },
  { value: 'ios:1', label: 'iOS (p0f Compliant)' },
  { value: 'android:3', label: 'Android (Real)' },
  { value: 'android:1', label: 'Android (p0f Compliant)' },
  { value: 'macosx:3', label: 'macOS X' },
] as const;
export type OsFingerprint = (typeof OS_FINGERPRINTS)[number]['value'];
export const OS_FINGERPRINT_VALUES = OS_FINGERPRINTS.map((f) => f.value) as OsFingerprint[];

export type { TriggerType } from '../rotation/rules.ts';
import type { TriggerType } from '../rotation/rules.ts';

export interface RotationSettings {
  enabled: boolean;
  intervalSeconds: number;
  matchCarrier: boolean;
  matchCity: boolean;
}

export interface PortPlacement {
  deviceId: string;
  countryCode: string;
  carrierId: string | null;
  cityId: string | null;
}

export type AccountPortEvent =
  | {
      type: 'AccountPortCreated';
      data: PortPlacement & {
        portId: string; accountId: string; name: string; displayName: string; slotType: SlotType;
        proxyLogin: string; passwordHash: string; rotationTokenHash: string; rotationTokenSealed: string;
        osFingerprint: OsFingerprint; expiresAt: string; createdAt: string;
      };
    }
  | { type: 'AccountPortDeleted'; data: { portId: string; accountId: string; deviceId: string; reason: 'deleted' | 'expired'; deletedAt: string } }
  | { type: 'AccountPortCredentialsChanged'; data: { portId: string; accountId: string; proxyLogin: string; previousLogin: string; passwordHash: string; changedAt: string } }
  | { type: 'AccountPortFingerprintSet'; data: { portId: string; accountId: string; deviceId: string; osFingerprint: OsFingerprint; setAt: string } }
  | { type: 'AccountPortReconfigured'; data: PortPlacement & { portId: string; accountId: string; fromDeviceId: string; reconfiguredAt: string } }
  | { type: 'AccountPortRotationSettingsChanged'; data: RotationSettings & { portId: string; accountId: string; changedAt: string } }
  | {
      type: 'AccountPortRotated';
      data: {
        portId: string; accountId: string; rotationId: string; triggerType: TriggerType; slotType: SlotType;
        fromDeviceId: string; toDeviceId: string; fromIp: string | null; toIp: string | null; isAirplaneMode: boolean;
        rotationDurationMs: number; country: string; carrier: string | null; rotatedAt: string;
      };
    }
  | {
      type: 'AccountPortRotationFailed';
      data: { portId: string; accountId: string; rotationId: string; triggerType: TriggerType; fromDeviceId: string; fromIp: string | null; reason: string; country: string; carrier: string | null; failedAt: string };
    };

export const accountPortStreamId = (portId: string) => `aport-${portId}`;
/** A proxy login belongs to one port at a time (claim stream, decided on its revision). */
export const proxyLoginStreamId = (login: string) => `proxy-login-${login}`;
