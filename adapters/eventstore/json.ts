/**
 * Event data is JSON. A bigint in an event would silently come back as a string, so refuse it:
 * domain events carry money as decimal strings of micro-USDC.
 */
export function toEventJson(value: unknown): unknown {
  return JSON.parse(eventJsonText(value));
}

/** The JSON text of event data (one pass: what the PostgreSQL store sends as is). */
export function eventJsonText(value: unknown): string {
  return JSON.stringify(value, refuseBigint);
}

function refuseBigint(key: string, v: unknown): unknown {
  if (typeof v === 'bigint') throw new TypeError(`event ${key === '' ? 'value' : `field "${key}"`} is a bigint: store it as a string`);
  return v;
}
