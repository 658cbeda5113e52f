import { assertNever } from '../shared/errors.ts';
import type { SessionEvent, SessionPurchased } from './events.ts';

export interface PortState {
  portId: string;
  deviceId: string;
  countryCode: string;
  active: boolean;
  /** When the port last got a new device (allocation or device switch). */
  lastMovedAt: string;
  /** The rotation cooldown counts from here; null = never rotated, so it may rotate at once. */
  lastRotatedAt: string | null;
  /** A rotation waiting for a probe to see the new IP (PortIpChanged). */
  pendingRotation: { oldIp: string | null; rotatedAt: string } | null;
  /** The last egress IP a rotation confirmed. */
  ip: string | null;
}

export type SessionState =
  | { status: 'none' }
  | {
      status: 'active' | 'expired';
      session: SessionPurchased['data'];
      trafficBytes: bigint;
      expiresAt: string;
      ports: Record<string, PortState>;
      replacementsUsed: number;
      /** Every payment this session was bought or topped up with (replay check). */
      claimKeys: string[];
    };

export const initialSessionState = (): SessionState => ({ status: 'none' });

export function evolveSession(state: SessionState, event: SessionEvent): SessionState {
  if (event.type === 'SessionPurchased') {
    const d = event.data;
    return { status: 'active', session: d, trafficBytes: BigInt(d.trafficBytes), expiresAt: d.expiresAt, ports: {}, replacementsUsed: 0, claimKeys: [d.payment.claimKey] };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'PortAllocated': {
      const d = event.data;
      return {
        ...state,
        replacementsUsed: state.replacementsUsed + (d.reason === 'replace' ? 1 : 0),
        ports: { ...state.ports, [d.portId]: { portId: d.portId, deviceId: d.deviceId, countryCode: d.countryCode, active: true, lastMovedAt: d.allocatedAt, lastRotatedAt: null, pendingRotation: null, ip: null } },
      };
    }
    case 'PortAllocationFailed':
      return state;
    case 'PortReleased': {
      const port = state.ports[event.data.portId];
      return port ? { ...state, ports: { ...state.ports, [port.portId]: { ...port, active: false } } } : state;
    }
    case 'PortRotated': {
      const port = state.ports[event.data.portId];
      if (!port) return state;
      const d = event.data;
      const moved = d.toDeviceId !== port.deviceId;
      return {
        ...state,
        ports: {
          ...state.ports,
          [port.portId]: {
            ...port, deviceId: d.toDeviceId, lastMovedAt: moved ? d.rotatedAt : port.lastMovedAt, lastRotatedAt: d.rotatedAt,
            pendingRotation: { oldIp: d.oldIp ?? null, rotatedAt: d.rotatedAt },
          },
        },
      };
    }
    case 'PortIpChanged': {
      const port = state.ports[event.data.portId];
      if (!port) return state;
      return { ...state, ports: { ...state.ports, [port.portId]: { ...port, pendingRotation: null, ip: event.data.newIp } } };
    }
    case 'SessionToppedUp':
      return {
        ...state,
        trafficBytes: state.trafficBytes + BigInt(event.data.addTrafficBytes),
        expiresAt: event.data.expiresAt,
        claimKeys: event.data.payment ? [...state.claimKeys, event.data.payment.claimKey] : state.claimKeys,
      };
    case 'SessionExpired':
      return { ...state, status: 'expired' };
    default:
      return assertNever(event);
  }
}

export const activePorts = (state: SessionState): PortState[] =>
  state.status === 'none' ? [] : Object.values(state.ports).filter((p) => p.active);
