import type { PaymentProcessor } from '../../adapters/payments/port.ts';
import { parseCidrList, type Cidr } from '../../adapters/gateway/ssrf.ts';
import type { Infrastructure } from '../infrastructure.ts';
import type { Config } from '../config.ts';

/** What the proxy-pool use cases need from the composition root. */
export interface PoolContext {
  infra: Infrastructure;
  payments: PaymentProcessor | null;
  allowedPrivateCidrs: readonly Cidr[];
}

export function poolAllowedCidrs(config: Config): Cidr[] {
  const parsed = parseCidrList(config.POOL_ALLOWED_PRIVATE_CIDRS);
  if (!parsed.ok) throw new Error(`POOL_ALLOWED_PRIVATE_CIDRS: ${parsed.error}`);
  return parsed.value;
}

export const poolContext = (infra: Infrastructure, payments: PaymentProcessor | null = infra.payments): PoolContext =>
  ({ infra, payments, allowedPrivateCidrs: poolAllowedCidrs(infra.config) });

export const RYW = (ctx: PoolContext) => ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS;
