import { SEED_PRICES, type PriceList } from '../../domain/pricing/pricing.ts';
import type { Config } from '../config.ts';

/** "4" / "0.25" USDC → micro-USDC, exactly. */
export function usdcToMicro(amount: string): bigint {
  const [whole, frac = ''] = amount.split('.');
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}

export function pricesFromConfig(config: Config): PriceList {
  return { ...SEED_PRICES, perGbMicro: { shared: usdcToMicro(config.PRICE_SHARED_PER_GB), private: usdcToMicro(config.PRICE_PRIVATE_PER_GB) } };
}
