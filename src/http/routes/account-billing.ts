import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { paymentResponseHeader } from '../../../adapters/payments/headers.ts';
import type { SlotType } from '../../../domain/accounts/events.ts';
import { quoteTraffic } from '../../../domain/accounts/pricing.ts';
import { formatUsdc, parseTrafficGb } from '../../../domain/pricing/pricing.ts';
import { balanceOf, findAccount, ledgerOf, slotTotals } from '../../../projections/accounts.ts';
import { usedBytesBySlotType } from '../../../projections/account-usage.ts';
import { deposit, purchaseSlots, purchaseTraffic } from '../../accounts/billing.ts';
import type { AccountsContext } from '../../accounts/context.ts';
import { pricesFromConfig } from '../../x402/prices.ts';
import { authenticate, principalOf, requireScope } from '../auth.ts';
import { gb, iso, usd, usdAmount, walletView } from '../account-views.ts';
import { ApiError } from '../errors.ts';
import { parse } from '../validate.ts';
import { paymentView } from '../x402-views.ts';
import { paymentHeader, paymentRequired } from './x402-purchase.ts';

export const depositQuery = z.object({ amount: usdAmount.refine((m) => m >= 1_000_000n && m <= 100_000_000_000n, 'a deposit is 1 to 100000 USD') });
export const calculateQuery = z.object({ amount: z.string().regex(/^\d{1,6}(\.\d{1,9})?$/, 'is a number of GB'), isPrivate: z.enum(['true', 'false']).default('false') });
export const slotsBody = z.object({ quantity: z.number().int().min(1).max(1000).optional(), amount: z.number().int().min(1).max(1000).optional() })
  .refine((b) => (b.quantity ?? b.amount) !== undefined, 'send quantity (slots)');
export const trafficBody = z.object({ quantityGB: z.union([z.number(), z.string()]).optional(), amount: z.union([z.number(), z.string()]).optional() })
  .refine((b) => (b.quantityGB ?? b.amount) !== undefined, 'send quantityGB');
export const purchasesQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), offset: z.coerce.number().int().min(0).default(0), type: z.enum(['slots', 'traffic']).optional() });

const gbOf = (v: number | string) => parseTrafficGb(typeof v === 'number' ? v.toFixed(9).replace(/\.?0+$/, '') : v);

/** Deposits (x402, the same proofs as /v1/x402/proxy), prices with volume discounts, purchases from the balance. */
export function accountBillingRouter(ctx: AccountsContext): Router {
  const router = Router();
  const { infra } = ctx;
  const db = infra.database.db;
  const x402 = { infra, prices: pricesFromConfig(infra.config), payments: ctx.payments };
  for (const prefix of ['/v1/account/deposit', '/v1/billing', '/v1/traffic', '/v1/purchases']) router.use(prefix, authenticate(ctx));
  const origin = (req: Request) => ({ actor: `account:${principalOf(req).accountId}`, correlationId: req.id });
  const account = async (req: Request) => (await findAccount(db, principalOf(req).accountId))!;

  router.post('/v1/account/deposit', requireScope('billing:write'), async (req, res) => {
    const { amount } = parse(depositQuery, { amount: req.query.amount ?? (req.body as { amount?: unknown } | undefined)?.amount });
    const header = paymentHeader(req);
    if (!header) return paymentRequired(x402, req, res, amount, `Account deposit of ${formatUsdc(amount)} USD`, { deposit: { accountId: principalOf(req).accountId, amount: usd(amount), amountMicro: amount.toString() } });
    const done = await deposit(ctx, principalOf(req).accountId, amount, header, origin(req));
    res.setHeader('PAYMENT-RESPONSE', paymentResponseHeader(done.collected));
    const a = await account(req);
    res.json({ success: true, credited: usd(done.credited), creditedMicro: done.credited.toString(), payment: paymentView({ network: done.collected.network, proof: done.collected.proof, claimKey: done.collected.claimKey, transaction: done.collected.transaction, payer: done.collected.payer, amountMicro: done.collected.amountMicro.toString() }), wallet: walletView(a) });
  });

  const pricing = async (accountId: string) => {
    const a = (await findAccount(db, accountId))!;
    const cumulative = BigInt(a.traffic_shared_bytes) + BigInt(a.traffic_private_bytes);
    const p = ctx.pricing;
    const current = [...p.discounts].reverse().find((t) => cumulative >= BigInt(t.minGb) * 1_000_000_000n);
    const next = p.discounts.find((t) => cumulative < BigInt(t.minGb) * 1_000_000_000n);
    const slots = await slotTotals(db, accountId, ctx.infra.clock.now());
    // The official MCP server reads tiers as {name, minGB, sharedSlots, privateSlots}. Here a tier is a volume
    // discount, not a slot allowance (slots are bought monthly), so the slots shown are the ones the account holds.
    const tierOf = (t: { minGb: number; percent: number } | undefined) => ({ name: t ? `${t.percent}% volume discount` : 'Base price', minGB: t?.minGb ?? 0, discountPercent: t?.percent ?? 0, sharedSlots: slots.shared.total, privateSlots: slots.private.total });
    return {
      currency: 'USD',
      basePrices: { shared: usd(p.perGbMicro.shared), private: usd(p.perGbMicro.private) },
      slotTiers: [],
      userTierInfo: {
        currentTier: tierOf(current), nextTier: next ? tierOf(next) : null, cumulativeGB: gb(cumulative), gbToNextTier: next ? Math.max(0, next.minGb - gb(cumulative)) : 0,
        sharedSlotLimit: slots.shared.total, privateSlotLimit: slots.private.total,
      },
      traffic: { shared: { pricePerGB: usd(p.perGbMicro.shared), pricePerGBMicro: p.perGbMicro.shared.toString() }, private: { pricePerGB: usd(p.perGbMicro.private), pricePerGBMicro: p.perGbMicro.private.toString() } },
      slots: { shared: { pricePerSlot: usd(p.slotMonthlyMicro.shared), billingPeriodDays: p.slotPeriodDays }, private: { pricePerSlot: usd(p.slotMonthlyMicro.private), billingPeriodDays: p.slotPeriodDays } },
      volumeDiscounts: p.discounts.map((t, i) => ({ minGB: t.minGb, maxGB: p.discounts[i + 1] ? p.discounts[i + 1]!.minGb : null, discountPercent: t.percent })),
      yourTier: { cumulativePurchasedGB: gb(cumulative), discountPercent: current?.percent ?? 0, nextTier: next ? { minGB: next.minGb, discountPercent: next.percent, gbToGo: next.minGb - gb(cumulative) } : null },
      note: 'Volume discounts apply to traffic by cumulative GB bought (this purchase included); slots are monthly subscriptions (POST /v1/billing/purchase-ports), not unlocked by tiers, so slotTiers is empty.',
    };
  };
  router.get('/v1/billing/pricing', requireScope('billing:read'), async (req, res) => { res.json(await pricing(principalOf(req).accountId)); });

  router.get('/v1/billing/calculate-price', requireScope('billing:read'), async (req, res) => {
    const q = parse(calculateQuery, req.query);
    const a = await account(req);
    const slotType: SlotType = q.isPrivate === 'true' ? 'private' : 'shared';
    const quote = quoteTraffic(ctx.pricing, slotType, parseTrafficGb(q.amount), BigInt(a.traffic_shared_bytes) + BigInt(a.traffic_private_bytes));
    const perGb = ctx.pricing.perGbMicro[slotType];
    // per GB as the official MCP server prints them: basePrice before the discount, pricePerGB after it
    res.json({
      amount: Number(q.amount), amountGB: Number(q.amount), isPrivate: slotType === 'private', basePrice: usd(perGb), pricePerGB: usd((perGb * BigInt(100 - quote.discountPercent) + 99n) / 100n),
      baseTotal: usd(quote.basePriceMicro), discountPercent: quote.discountPercent, discount: usd(quote.basePriceMicro - quote.priceMicro), totalPrice: usd(quote.priceMicro), totalPriceMicro: quote.priceMicro.toString(),
      currency: 'USD', balance: usd(balanceOf(a)), canAfford: balanceOf(a) >= quote.priceMicro,
    });
  });

  const buySlots = (slotType: SlotType) => async (req: Request, res: Response) => {
    const body = parse(slotsBody, req.body ?? {});
    const e = await purchaseSlots(ctx, principalOf(req).accountId, slotType, (body.quantity ?? body.amount)!, origin(req));
    if (e.type !== 'AccountSlotsPurchased') throw new ApiError(500, 'INTERNAL', 'purchase appended nothing');
    res.status(201).json({ success: true, purchaseId: e.data.purchaseId, type: 'slots', category: slotType, quantity: e.data.quantity, price: usd(BigInt(e.data.priceMicro)), totalPrice: usd(BigInt(e.data.priceMicro)), priceMicro: e.data.priceMicro, expiresAt: e.data.expiresAt, wallet: walletView(await account(req)) });
  };
  const buyTraffic = (slotType: SlotType) => async (req: Request, res: Response) => {
    const body = parse(trafficBody, req.body ?? {});
    const e = await purchaseTraffic(ctx, principalOf(req).accountId, slotType, gbOf((body.quantityGB ?? body.amount)!), origin(req));
    if (e.type !== 'AccountTrafficPurchased') throw new ApiError(500, 'INTERNAL', 'purchase appended nothing');
    res.status(201).json({ success: true, purchaseId: e.data.purchaseId, type: 'traffic', category: slotType, quantityGB: gb(BigInt(e.data.bytes)), basePrice: usd(BigInt(e.data.basePriceMicro)), discountPercent: e.data.discountPercent, price: usd(BigInt(e.data.priceMicro)), totalPrice: usd(BigInt(e.data.priceMicro)), priceMicro: e.data.priceMicro, wallet: walletView(await account(req)) });
  };
  router.post('/v1/billing/purchase-ports', requireScope('billing:write'), buySlots('shared'));
  router.post('/v1/billing/purchase-ports-private', requireScope('billing:write'), buySlots('private'));
  router.post('/v1/billing/purchase-traffic', requireScope('billing:write'), buyTraffic('shared'));
  router.post('/v1/billing/purchase-traffic-private', requireScope('billing:write'), buyTraffic('private'));

  router.get('/v1/purchases', requireScope('billing:read'), async (req, res) => {
    const q = parse(purchasesQuery, req.query);
    const { rows, total } = await ledgerOf(db, principalOf(req).accountId, { limit: q.limit, offset: q.offset, kind: q.type ? [q.type] : ['slots', 'traffic'] });
    res.json({
      data: rows.map((r) => ({ _id: String(r.details.purchaseId ?? r.entry_id), type: r.kind, category: r.slot_type, quantity: r.kind === 'traffic' ? gb(BigInt(r.quantity ?? '0')) : Number(r.quantity), price: usd(BigInt(r.amount_micro)), totalPrice: usd(BigInt(r.amount_micro)), priceMicro: String(r.amount_micro), discountPercent: r.details.discountPercent ?? 0, createdAt: iso(r.at) })),
      total, limit: q.limit, offset: q.offset,
    });
  });

  router.get('/v1/traffic/balance-breakdown', requireScope('traffic:read'), async (req, res) => {
    const a = await account(req);
    const used = await usedBytesBySlotType(db, a.account_id);
    const purchased = BigInt(a.traffic_shared_bytes) + BigInt(a.traffic_private_bytes);
    const usedAll = used.shared + used.private;
    res.json({
      totalPayments: usd(BigInt(a.deposited_micro)), adminPaymentCredits: usd(BigInt(a.credits_micro)), totalPurchases: usd(BigInt(a.spent_micro)),
      trafficUsedGB: gb(usedAll), purchasedTrafficGB: gb(purchased), availableTrafficGB: gb(purchased > usedAll ? purchased - usedAll : 0n),
      pricePerGB: usd(ctx.pricing.perGbMicro.shared), balance: usd(balanceOf(a)), currency: 'USD',
      formula: 'balance = (totalPayments + adminCredits) - totalPurchases',
      micro: { totalPayments: String(a.deposited_micro), adminPaymentCredits: String(a.credits_micro), totalPurchases: String(a.spent_micro), balance: balanceOf(a).toString() },
    });
  });

  return router;
}

