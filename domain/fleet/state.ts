import { assertNever } from '../shared/errors.ts';
import type { DeviceRegistered, FleetEvent } from './events.ts';

export type DeviceState =
  | { status: 'unregistered' }
  | { status: 'active'; device: DeviceRegistered['data']; online: boolean; lastReportAt: string | null }
  | { status: 'retired'; deviceId: string; retiredAt: string };

export const initialDeviceState = (): DeviceState => ({ status: 'unregistered' });

export function evolveDevice(state: DeviceState, event: FleetEvent): DeviceState {
  switch (event.type) {
    case 'DeviceRegistered':
      // A registered modem is presumed up until a probe or operator says otherwise.
      return { status: 'active', device: event.data, online: true, lastReportAt: null };
    case 'DeviceHealthReported':
      return state.status === 'active' ? { ...state, online: event.data.online, lastReportAt: event.data.reportedAt } : state;
    case 'DeviceRetired':
      return { status: 'retired', deviceId: event.data.deviceId, retiredAt: event.data.retiredAt };
    default:
      return assertNever(event);
  }
}
