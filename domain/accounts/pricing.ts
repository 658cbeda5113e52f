import { BYTES_PER_GB } from '../pricing/pricing.ts';
import type { SlotType } from './events.ts';

/**
 * Account prices in micro-USD. Traffic gets a volume discount by the account's cumulative traffic
 * purchases including this one (seed 000: "10-40% based on cumulative purchases"); slots are
 * monthly subscriptions at the tariff price.
 */
export interface AccountPricing {
  perGbMicro: Record<SlotType, bigint>;
  slotMonthlyMicro: Record<SlotType, bigint>;
  /** Ascending by minGb: from this cumulative GB on, this percent off. */
  discounts: ReadonlyArray<{ minGb: number; percent: number }>;
  slotPeriodDays: number;
}

export function discountPercentFor(pricing: AccountPricing, cumulativeBytes: bigint): number {
  let percent = 0;
  for (const tier of pricing.discounts) if (cumulativeBytes >= BigInt(tier.minGb) * BYTES_PER_GB) percent = tier.percent;
  return percent;
}

export interface TrafficQuote {
  bytes: bigint;
  basePriceMicro: bigint;
  discountPercent: number;
  priceMicro: bigint;
}

/** Rounded up to the micro so rounding never undercharges. */
export function quoteTraffic(pricing: AccountPricing, slotType: SlotType, bytes: bigint, previousCumulativeBytes: bigint): TrafficQuote {
  const basePriceMicro = (bytes * pricing.perGbMicro[slotType] + BYTES_PER_GB - 1n) / BYTES_PER_GB;
  const discountPercent = discountPercentFor(pricing, previousCumulativeBytes + bytes);
  const priceMicro = (basePriceMicro * BigInt(100 - discountPercent) + 99n) / 100n;
  return { bytes, basePriceMicro, discountPercent, priceMicro };
}

export const quoteSlots = (pricing: AccountPricing, slotType: SlotType, quantity: number) => ({
  unitPriceMicro: pricing.slotMonthlyMicro[slotType],
  priceMicro: pricing.slotMonthlyMicro[slotType] * BigInt(quantity),
});

/** "10:10,50:20,100:30,500:40" → tiers; throws on anything else. */
export function parseDiscountTable(raw: string): Array<{ minGb: number; percent: number }> {
  if (raw.trim() === '') return [];
  const tiers = raw.split(',').map((part) => {
    const m = /^\s*(\d{1,7}):(\d{1,2})\s*$/.exec(part);
    if (!m) throw new Error(`"${part}" is not minGB:percent`);
    return { minGb: Number(m[1]), percent: Number(m[2]) };
  });
  for (let i = 1; i < tiers.length; i++) {
    if (tiers[i]!.minGb <= tiers[i - 1]!.minGb || tiers[i]!.percent < tiers[i - 1]!.percent) throw new Error('tiers must rise in GB and percent');
  }
  return tiers;
}
