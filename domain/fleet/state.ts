import { assertNever } from '../shared/errors.ts';
import type { DeviceRegistered, FleetEvent } from './events.ts';

export type DeviceState =
  | { status: 'unregistered' }
  /** ports: portId → sessionId of the ports holding a slot */
  | { status: 'active'; device: DeviceRegistered['data']; online: boolean; lastReportAt: string | null; ports: Record<string, string> }
  | { status: 'retired'; deviceId: string; retiredAt: string };

export const initialDeviceState = (): DeviceState => ({ status: 'unregistered' });

export function evolveDevice(state: DeviceState, event: FleetEvent): DeviceState {
  switch (event.type) {
    case 'DeviceRegistered':
      // A registered modem is presumed up until a probe or operator says otherwise.
      return { status: 'active', device: event.data, online: true, lastReportAt: null, ports: {} };
    case 'DeviceHealthReported':
      return state.status === 'active' ? { ...state, online: event.data.online, lastReportAt: event.data.reportedAt } : state;
    case 'DeviceRetired':
      return { status: 'retired', deviceId: event.data.deviceId, retiredAt: event.data.retiredAt };
    case 'DeviceSlotAllocated':
      return state.status === 'active' ? { ...state, ports: { ...state.ports, [event.data.portId]: event.data.sessionId } } : state;
    case 'DeviceSlotReleased': {
      if (state.status !== 'active') return state;
      const { [event.data.portId]: _released, ...ports } = state.ports;
      return { ...state, ports };
    }
    default:
      return assertNever(event);
  }
}
