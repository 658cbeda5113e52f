import { expect } from 'chai';
import { formatGb, formatUsdc, parseTrafficGb, quotePurchase, SEED_PRICES, trafficPriceMicro } from '../../domain/pricing/pricing.ts';
import { DomainError } from '../../domain/shared/errors.ts';

const throwsCode = (fn: () => unknown, code: string) => {
  try { fn(); } catch (e) { expect(e).to.be.instanceOf(DomainError); expect((e as DomainError).code).to.equal(code); return; }
  expect.fail(`expected ${code}`);
};

describe('pricing', () => {
  it('parses GB exactly into bytes', () => {
    expect(parseTrafficGb('1')).to.equal(1_000_000_000n);
    expect(parseTrafficGb('0.1')).to.equal(100_000_000n);
    expect(parseTrafficGb('2.000000001')).to.equal(2_000_000_001n);
    for (const bad of ['', '-1', '1e3', '0.0000000001', 'abc', '1.']) throwsCode(() => parseTrafficGb(bad), 'INVALID_TRAFFIC');
  });

  it('prices traffic at $4/GB shared and $8/GB private, in micro-USDC, rounding up', () => {
    expect(trafficPriceMicro(SEED_PRICES, 'shared', 1_000_000_000n)).to.equal(4_000_000n);
    expect(trafficPriceMicro(SEED_PRICES, 'private', 100_000_000n)).to.equal(800_000n);
    expect(trafficPriceMicro(SEED_PRICES, 'shared', 1n)).to.equal(1n); // 0.000000004 USDC rounds up to one micro
  });

  it('quotes a purchase: duration free, limits enforced', () => {
    expect(quotePurchase(SEED_PRICES, 'shared', 100_000_000n, undefined)).to.deep.equal({ tier: 'shared', trafficBytes: 100_000_000n, durationSeconds: 86_400, amountMicro: 400_000n });
    throwsCode(() => quotePurchase(SEED_PRICES, 'shared', 99_999_999n, 3600), 'TRAFFIC_TOO_LOW');
    throwsCode(() => quotePurchase(SEED_PRICES, 'shared', 1_000_000_000n, 3599), 'INVALID_DURATION');
    throwsCode(() => quotePurchase(SEED_PRICES, 'shared', 1_000_000_000n, 30 * 86_400 + 1), 'INVALID_DURATION');
  });

  it('formats amounts for people', () => {
    expect(formatUsdc(4_000_000n)).to.equal('4.00');
    expect(formatUsdc(400_000n)).to.equal('0.40');
    expect(formatUsdc(1_234_567n)).to.equal('1.234567');
    expect(formatGb(2_500_000_000n)).to.equal('2.5');
  });
});
