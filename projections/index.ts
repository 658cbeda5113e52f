import { devicesProjection } from './devices.ts';
import type { Projection } from './projection.ts';

/** Every read model the service maintains. */
export const projections: readonly Projection[] = [devicesProjection];
