import type { Redis } from 'ioredis';
import type { ByteBudget } from '../../adapters/gateway/brain.ts';

/**
 * The in-flight byte budget (#8): how every credential kind's traffic balance is spent, keyed by
 * budget key: `session-<id>`, `pool-<id>`, `pak-<id>`, and `account-<id>-shared|private` — one per account
 * traffic pool, spent by all of that account's ports of the slot type and (shared) its pool password.
 *
 * The ledger holds, per account key, the bytes granted to gateway instances so far (spent or
 * still held). An instance leases a slice of what is left (total bought − granted) atomically;
 * its connections spend the slice synchronously per chunk (`AccountBudget.take`), so the bytes
 * stop when the slice is spent and the ledger has nothing left — not after the next meter flush.
 * Unspent bytes go back when the account's last connection on the instance closes, or when the
 * slice sat unused for `idleReturnMs`. Granted never exceeds total, so what is delivered never
 * exceeds what was bought, across connections and instances.
 *
 * The ledger seeds itself from the read model: granted = max(granted, used), so a ledger entry that
 * expired (no instance held a slice for `ttlMs`) or a Redis that lost its data starts again from
 * the metered usage. A crashed instance's unspent slice is lost to the customer only until then.
 */

/** What the read model says: bought and metered (flushed) bytes. */
export interface Balance {
  totalBytes: bigint;
  usedBytes: bigint;
}

export interface BudgetLedger {
  readonly kind: 'redis' | 'memory';
  /** Grants up to `want` bytes (fewer as the balance nears its end, 0 when spent). */
  lease(accountKey: string, want: number, balance: Balance): Promise<number>;
  /** Returns bytes granted and never forwarded. */
  giveBack(accountKey: string, bytes: number): Promise<void>;
  /** Keeps the entry alive while this instance holds a slice of it. */
  touch(accountKey: string): Promise<void>;
}

/** A slice never grows past 1/8 of what is left, so near the end the instances share the rest finely. */
const SHARE_OF_REST = 8;
export const MIN_SLICE_BYTES = 64 * 1024;
export const LEDGER_TTL_MS = 10 * 60_000;

/** The rule both ledgers apply, in one place: what to grant from `granted` (already seeded). */
function grantFrom(granted: number, total: number, want: number): number {
  const rest = total - granted;
  if (rest <= 0) return 0;
  return Math.min(want, rest, Math.max(MIN_SLICE_BYTES, Math.floor(rest / SHARE_OF_REST)));
}

/** In-process ledger: the embedded default (one gateway), and the local state during a Redis outage. */
export class MemoryBudgetLedger implements BudgetLedger {
  readonly kind = 'memory' as const;
  private readonly granted = new Map<string, { bytes: number; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now, private readonly ttlMs = LEDGER_TTL_MS) {}

  async lease(accountKey: string, want: number, balance: Balance): Promise<number> {
    const now = this.now();
    const entry = this.granted.get(accountKey);
    const current = entry && entry.expiresAt > now ? entry.bytes : 0;
    const seeded = Math.max(current, Number(balance.usedBytes));
    const grant = grantFrom(seeded, Number(balance.totalBytes), want);
    this.granted.set(accountKey, { bytes: seeded + grant, expiresAt: now + this.ttlMs });
    return grant;
  }

  async giveBack(accountKey: string, bytes: number): Promise<void> {
    const entry = this.granted.get(accountKey);
    if (entry) entry.bytes = Math.max(0, entry.bytes - bytes);
  }

  async touch(accountKey: string): Promise<void> {
    const entry = this.granted.get(accountKey);
    if (entry) entry.expiresAt = this.now() + this.ttlMs;
  }

  /** Granted so far (tests). */
  grantedBytes(accountKey: string): number {
    return this.granted.get(accountKey)?.bytes ?? 0;
  }
}

// Same rule as grantFrom, atomically in Redis. Numbers are doubles in Lua: exact to 2^53 bytes.
const LEASE_SCRIPT = `
local granted = tonumber(redis.call('GET', KEYS[1]) or '0')
local total, used, want, ttl, minSlice, share = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
if used > granted then granted = used end
local rest = total - granted
local grant = 0
if rest > 0 then grant = math.min(want, rest, math.max(minSlice, math.floor(rest / share))) end
redis.call('SET', KEYS[1], string.format('%.0f', granted + grant), 'PX', ttl)
return grant`;
const GIVE_BACK_SCRIPT = `
local granted = tonumber(redis.call('GET', KEYS[1]) or '-1')
if granted < 0 then return 0 end
local left = math.max(0, granted - tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.0f', left), 'KEEPTTL')
return left`;

/** Shared ledger: every gateway instance leases from the same Redis keys. */
export class RedisBudgetLedger implements BudgetLedger {
  readonly kind = 'redis' as const;
  constructor(private readonly redis: Redis, private readonly prefix = 'pmx:budget:', private readonly ttlMs = LEDGER_TTL_MS) {}

  async lease(accountKey: string, want: number, balance: Balance): Promise<number> {
    const grant = await this.redis.eval(LEASE_SCRIPT, 1, this.prefix + accountKey,
      balance.totalBytes.toString(), balance.usedBytes.toString(), String(want), String(this.ttlMs), String(MIN_SLICE_BYTES), String(SHARE_OF_REST));
    return Number(grant);
  }

  async giveBack(accountKey: string, bytes: number): Promise<void> {
    await this.redis.eval(GIVE_BACK_SCRIPT, 1, this.prefix + accountKey, String(bytes));
  }

  async touch(accountKey: string): Promise<void> {
    await this.redis.pexpire(this.prefix + accountKey, this.ttlMs);
  }
}

export interface AccountBudgetOptions {
  /** Bytes asked for per lease. */
  sliceBytes: number;
  /** A slice unused this long goes back to the ledger (other instances may need it). */
  idleReturnMs: number;
  now: () => number;
  onError: (error: unknown) => void;
}

/** Lease slices of about 1/64 of what was bought: few ledger calls, and little held when it ends. */
export function sliceFor(totalBytes: bigint): number {
  const wanted = Number(totalBytes / 64n);
  return Math.min(16 * 1024 * 1024, Math.max(256 * 1024, wanted));
}

/**
 * One account's budget on this gateway instance, shared by its connections. `take` is synchronous
 * (the data path); a ledger call runs in the background when the slice runs low, and `refill`
 * waits for one when it is empty.
 */
export class AccountBudget implements ByteBudget {
  private available = 0;
  private pending: Promise<boolean> | undefined;
  private connections = 0;
  private lastTake = 0;
  /** The ledger said "nothing left" at this time: no background asks for a second. */
  private dryAt = -Infinity;

  constructor(
    readonly accountKey: string,
    private readonly ledger: BudgetLedger,
    private readonly balance: () => Balance,
    private readonly options: AccountBudgetOptions,
  ) {}

  take(bytes: number): number {
    const taken = bytes <= this.available ? bytes : this.available;
    this.available -= taken;
    if (this.available < this.options.sliceBytes / 2 && this.pending === undefined && performance.now() - this.dryAt > 1000) void this.lease();
    this.lastTake = this.options.now();
    return taken;
  }

  refill(): Promise<boolean> {
    if (this.available > 0) return Promise.resolve(true);
    return this.pending ?? this.lease();
  }

  /** Bytes taken and not forwarded after all (the other budget of a `BothBudgets` said no). */
  putBack(bytes: number): void {
    this.available += bytes;
  }

  /** Bytes held on this instance and not yet forwarded. */
  held(): number {
    return this.available;
  }

  open(): void {
    this.connections++;
  }

  /** The last connection gone: what is left goes back. */
  close(): Promise<void> {
    this.connections = Math.max(0, this.connections - 1);
    return this.connections === 0 ? this.release() : Promise.resolve();
  }

  /** Called periodically: keeps the ledger entry alive while held, returns a slice that sat idle. */
  async maintain(): Promise<void> {
    if (this.available === 0) return;
    if (this.options.now() - this.lastTake >= this.options.idleReturnMs) return this.release();
    await this.ledger.touch(this.accountKey);
  }

  async release(): Promise<void> {
    const bytes = this.available;
    this.available = 0;
    if (bytes > 0) await this.ledger.giveBack(this.accountKey, bytes);
  }

  private lease(): Promise<boolean> {
    const asked = this.ledger.lease(this.accountKey, this.options.sliceBytes, this.balance()).then(
      (granted) => {
        if (granted === 0) this.dryAt = performance.now();
        // granted after every connection left (a background ask): it goes straight back
        if (this.connections === 0 && granted > 0) void this.ledger.giveBack(this.accountKey, granted).catch(this.options.onError);
        else this.available += granted;
        return this.available > 0;
      },
      (error: unknown) => {
        this.options.onError(error);
        return this.available > 0;
      },
    ).finally(() => {
      this.pending = undefined;
    });
    this.pending = asked;
    return asked;
  }
}

/**
 * What a budget shared by several credentials spends from: each member holds its own read of the
 * balance, and bought and used bytes only ever grow, so the freshest read is the largest of each.
 */
export function freshestBalance(reads: Iterable<Balance>): Balance {
  let totalBytes = 0n, usedBytes = 0n;
  for (const r of reads) {
    if (r.totalBytes > totalBytes) totalBytes = r.totalBytes;
    if (r.usedBytes > usedBytes) usedBytes = r.usedBytes;
  }
  return { totalBytes, usedBytes };
}

/**
 * Every byte paid by both budgets: a reseller's pak_ key spends its own cap and the reseller account's
 * shared traffic. Forwarding stops when either is spent; bytes one granted and the other did not go back.
 */
export class BothBudgets implements ByteBudget {
  constructor(private readonly first: AccountBudget, private readonly second: AccountBudget) {}

  take(bytes: number): number {
    const a = this.first.take(bytes);
    if (a === 0) return 0;
    const b = this.second.take(a);
    if (b < a) this.first.putBack(a - b);
    return b;
  }

  async refill(): Promise<boolean> {
    const [a, b] = await Promise.all([this.first.refill(), this.second.refill()]);
    return a && b;
  }
}

/** The Redis ledger while Redis answers; the in-process one while the gateway is degraded. */
export class CoordinatedLedger implements BudgetLedger {
  readonly kind = 'redis' as const;
  constructor(private readonly shared: BudgetLedger, private readonly local: BudgetLedger, private readonly coordination: { run<T>(remote: () => Promise<T>, local: () => T | Promise<T>): Promise<T> }) {}

  lease(accountKey: string, want: number, balance: Balance): Promise<number> {
    return this.coordination.run(() => this.shared.lease(accountKey, want, balance), () => this.local.lease(accountKey, want, balance));
  }

  giveBack(accountKey: string, bytes: number): Promise<void> {
    return this.coordination.run(() => this.shared.giveBack(accountKey, bytes), () => this.local.giveBack(accountKey, bytes));
  }

  touch(accountKey: string): Promise<void> {
    return this.coordination.run(() => this.shared.touch(accountKey), () => this.local.touch(accountKey));
  }
}
