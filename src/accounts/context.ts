import { randomBytes } from 'node:crypto';
import type { PaymentProcessor } from '../../adapters/payments/port.ts';
import { accountDecider, type AccountCommand } from '../../domain/accounts/decide.ts';
import { accountStreamId } from '../../domain/accounts/events.ts';
import { parseDiscountTable, type AccountPricing } from '../../domain/accounts/pricing.ts';
import { handleCommand, type CommandOrigin } from '../commands/handle.ts';
import type { Config } from '../config.ts';
import type { Infrastructure } from '../infrastructure.ts';
import { usdcToMicro } from '../x402/prices.ts';

/** What the account use cases need: the infrastructure, prices, the payment processor and the JWT key. */
export interface AccountsContext {
  infra: Infrastructure;
  pricing: AccountPricing;
  payments: PaymentProcessor | null;
  jwtKey: Uint8Array;
  /** Seals what must be read back (rotation tokens, a port password for its first minutes): the fleet's keyring. */
  sealer: { seal(plain: string): string; open(sealed: string): string };
}

export function accountPricingFromConfig(config: Config): AccountPricing {
  return {
    perGbMicro: { shared: usdcToMicro(config.PRICE_SHARED_PER_GB), private: usdcToMicro(config.PRICE_PRIVATE_PER_GB) },
    slotMonthlyMicro: { shared: usdcToMicro(config.ACCOUNT_SLOT_PRICE_SHARED), private: usdcToMicro(config.ACCOUNT_SLOT_PRICE_PRIVATE) },
    discounts: parseDiscountTable(config.ACCOUNT_VOLUME_DISCOUNTS),
    slotPeriodDays: config.ACCOUNT_SLOT_PERIOD_DAYS,
  };
}

const processKeys = new WeakMap<Infrastructure, Uint8Array>();

export function accountsContext(infra: Infrastructure, payments: PaymentProcessor | null = infra.payments): AccountsContext {
  let jwtKey = infra.config.JWT_SECRET ? new TextEncoder().encode(infra.config.JWT_SECRET) : processKeys.get(infra);
  if (!jwtKey) {
    jwtKey = randomBytes(32);
    processKeys.set(infra, jwtKey);
    infra.logger.warn('JWT_SECRET is not set: sign-in tokens are signed with a random per-process key and stop working on restart');
  }
  return { infra, pricing: accountPricingFromConfig(infra.config), payments, jwtKey, sealer: infra.secrets };
}

/** Decide on the account stream, then wait until the named read models show it (read-your-writes). */
export async function runAccountCommand(ctx: AccountsContext, accountId: string, command: AccountCommand, origin: CommandOrigin, readModels: readonly string[] = ['accounts']) {
  const handled = await handleCommand(ctx.infra, accountDecider, accountStreamId(accountId), command, origin);
  if (handled.position > 0n) await ctx.infra.projector.waitFor(handled.position, readModels, ctx.infra.config.READ_YOUR_WRITES_TIMEOUT_MS);
  return handled;
}
