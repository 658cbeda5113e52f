import { DomainError } from '../shared/errors.ts';

/** Micro-USDC: 1 USDC = 1,000,000. Traffic: 1 GB = 10^9 bytes. */
export const MICRO_PER_USDC = 1_000_000n;
export const BYTES_PER_GB = 1_000_000_000n;

export type Tier = 'shared' | 'private';

export interface PriceList {
  perGbMicro: Record<Tier, bigint>;
  minTrafficBytes: bigint;
  minDurationSeconds: number;
  maxDurationSeconds: number;
  defaultDurationSeconds: number;
}

export const SEED_PRICES: PriceList = {
  perGbMicro: { shared: 4_000_000n, private: 8_000_000n },
  minTrafficBytes: 100_000_000n, // 0.1 GB
  minDurationSeconds: 3600,
  maxDurationSeconds: 30 * 24 * 3600,
  defaultDurationSeconds: 24 * 3600,
};

/** "1", "0.5", "2.125" GB → bytes, exactly (no floats); at most 9 decimals, since a byte is 1e-9 GB. */
export function parseTrafficGb(raw: string): bigint {
  const m = /^(\d{1,6})(?:\.(\d{1,9}))?$/.exec(raw.trim());
  if (!m) throw new DomainError('invalid', 'INVALID_TRAFFIC', `traffic must be a number of GB like 1 or 0.5, got "${raw}"`);
  return BigInt(m[1]!) * BYTES_PER_GB + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function formatGb(bytes: bigint): string {
  return trimDecimal(bytes, 9);
}

/** 4000000n → "4.00", 1234567n → "1.234567": at least cents, never rounding away a micro. */
export function formatUsdc(micro: bigint): string {
  const s = trimDecimal(micro, 6);
  const [whole, frac = ''] = s.split('.');
  return `${whole}.${frac.padEnd(2, '0')}`;
}

function trimDecimal(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const frac = (abs % unit).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / unit}${frac ? `.${frac}` : ''}`;
}

/** Price of traffic, rounded up to the next micro-USDC so we never undercharge by rounding. */
export function trafficPriceMicro(prices: PriceList, tier: Tier, bytes: bigint): bigint {
  return (bytes * prices.perGbMicro[tier] + BYTES_PER_GB - 1n) / BYTES_PER_GB;
}

export interface Quote {
  tier: Tier;
  trafficBytes: bigint;
  durationSeconds: number;
  amountMicro: bigint;
}

/** Duration is free; traffic is paid. Limits from the seeds: ≥ 0.1 GB, 1 h to 30 days. */
export function quotePurchase(prices: PriceList, tier: Tier, trafficBytes: bigint, durationSeconds: number | undefined): Quote {
  if (trafficBytes < prices.minTrafficBytes) {
    throw new DomainError('invalid', 'TRAFFIC_TOO_LOW', `minimum purchase is ${formatGb(prices.minTrafficBytes)} GB`, { minTrafficGB: formatGb(prices.minTrafficBytes) });
  }
  const duration = durationSeconds ?? prices.defaultDurationSeconds;
  checkDuration(prices, duration);
  return { tier, trafficBytes, durationSeconds: duration, amountMicro: trafficPriceMicro(prices, tier, trafficBytes) };
}

export function checkDuration(prices: PriceList, seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < prices.minDurationSeconds || seconds > prices.maxDurationSeconds) {
    throw new DomainError('invalid', 'INVALID_DURATION', `duration must be whole seconds from ${prices.minDurationSeconds} (1 h) to ${prices.maxDurationSeconds} (30 days)`, {
      minDuration: prices.minDurationSeconds, maxDuration: prices.maxDurationSeconds,
    });
  }
}
