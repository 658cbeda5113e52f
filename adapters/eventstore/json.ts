/**
 * Event data is JSON. A bigint in an event would silently come back as a string, so refuse it:
 * domain events carry money as decimal strings of micro-USDC.
 */
export function toEventJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => {
      if (typeof v === 'bigint') throw new TypeError(`event field "${key}" is a bigint: store it as a string`);
      return v;
    }),
  );
}
