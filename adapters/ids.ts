import { randomBytes, randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks: one syscall per 256 ids, not one per id. */
const POOL = Buffer.alloc(16 * 256);
let pooled = POOL.length;

/** UUIDv7 (RFC 9562): time-ordered, so ids sort by creation and index well. */
export function uuidv7(nowMs: number = Date.now()): string {
  if (pooled === POOL.length) {
    randomFillSync(POOL);
    pooled = 0;
  }
  const bytes = Buffer.from(POOL.subarray(pooled, (pooled += 16)));
  const ms = BigInt(nowMs);
  for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A 24-hex id shaped like the seed's `_id`s (MongoDB ObjectId layout: 4 bytes of seconds, 5 random bytes per
 * process, a 3-byte counter): time-ordered, in creation order within a process, no `-` (fits a gateway username).
 */
const processRandom = randomBytes(5).toString('hex');
let counter = randomBytes(3).readUIntBE(0, 3);
export function objectId(nowMs: number = Date.now()): string {
  counter = (counter + 1) % 0x1000000;
  return Math.floor(nowMs / 1000).toString(16).padStart(8, '0').slice(-8) + processRandom + counter.toString(16).padStart(6, '0');
}
