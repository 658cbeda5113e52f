import { expect } from 'chai';
import { decodePosition, encodePosition, EventStoreDbEventStore } from '../../adapters/eventstore/eventstoredb.ts';
import { testEventStoreUrl } from '../support/services.ts';
import { eventStoreContract } from './contract.ts';

describe('EventStoreDB position encoding', () => {
  it('keeps the (commit, prepare) order in one bigint and round-trips', () => {
    const positions = [
      { commit: 0n, prepare: 0n },
      { commit: 10n, prepare: 5n },
      { commit: 10n, prepare: 9n },
      { commit: 11n, prepare: 0n },
      { commit: (1n << 63n) - 1n, prepare: (1n << 63n) - 2n },
    ];
    const encoded = positions.map(encodePosition);
    for (let i = 1; i < encoded.length; i++) expect(encoded[i]! > encoded[i - 1]!).to.equal(true);
    expect(encoded.map(decodePosition)).to.deep.equal(positions);
  });
});

const url = await testEventStoreUrl();
if (url) {
  describe('event store contract: EventStoreDB', () => {
    eventStoreContract(async () => ({ store: await EventStoreDbEventStore.connect(url), dispose: async () => {} }));
  });
} else {
  describe('event store contract: EventStoreDB', () => {
    it.skip('skipped: no EVENTSTORE_URL and no Docker engine for testcontainers (no EventStoreDB server can run on this machine)');
  });
}
