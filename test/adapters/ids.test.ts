import { expect } from 'chai';
import { uuidv7 } from '../../adapters/ids.ts';

describe('uuidv7', () => {
  it('carries the millisecond timestamp in its first 48 bits, with version 7 and the RFC variant', () => {
    for (const ms of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 1_790_000_000_123, Date.UTC(2026, 11, 4), 2 ** 48 - 1]) {
      const id = uuidv7(ms);
      expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseInt(id.replaceAll('-', '').slice(0, 12), 16)).to.equal(ms);
    }
  });

  it('sorts by creation time and never repeats', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => uuidv7(1_790_000_000_000 + i));
    expect([...ids].sort()).to.deep.equal(ids);
    expect(new Set(ids).size).to.equal(ids.length);
  });
});
