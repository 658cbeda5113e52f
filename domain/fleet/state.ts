import { assertNever } from '../shared/errors.ts';
import type { DeviceRegistered, FleetEvent, SlotHolderKind, Tier } from './events.ts';

export interface SlotHolder {
  sessionId: string;
  holderKind: SlotHolderKind;
  tier: Tier;
}

export type DeviceState =
  | { status: 'unregistered' }
  /** ports: the ports holding a slot, by port id */
  | { status: 'active'; device: DeviceRegistered['data']; online: boolean; lastReportAt: string | null; lastIp: string | null; ports: Record<string, SlotHolder> }
  | { status: 'retired'; deviceId: string; retiredAt: string };

export const initialDeviceState = (): DeviceState => ({ status: 'unregistered' });

export function evolveDevice(state: DeviceState, event: FleetEvent): DeviceState {
  switch (event.type) {
    case 'DeviceRegistered':
      // A registered modem is presumed up until a probe or operator says otherwise.
      return { status: 'active', device: event.data, online: true, lastReportAt: null, lastIp: null, ports: {} };
    case 'DeviceHealthReported':
      return state.status === 'active' ? { ...state, online: event.data.online, lastReportAt: event.data.reportedAt, lastIp: event.data.ip ?? state.lastIp } : state;
    case 'DeviceRetired':
      return { status: 'retired', deviceId: event.data.deviceId, retiredAt: event.data.retiredAt };
    case 'DeviceSlotAllocated':
      if (state.status !== 'active') return state;
      return {
        ...state,
        ports: { ...state.ports, [event.data.portId]: { sessionId: event.data.sessionId, holderKind: event.data.holderKind ?? 'session', tier: event.data.tier ?? 'shared' } },
      };
    case 'DeviceSlotReleased': {
      if (state.status !== 'active') return state;
      const { [event.data.portId]: _released, ...ports } = state.ports;
      return { ...state, ports };
    }
    case 'DeviceSecretsResealed':
      return state.status === 'active' ? { ...state, device: { ...state.device, upstream: event.data.upstream, resetUrl: event.data.resetUrl } } : state;
    default:
      return assertNever(event);
  }
}
