/**
 * pool_scores: one row per device with its pool score, for the gateway to pick modems by.
 *
 * The formula lives in domain/pool/score.ts (and docs/pool-score.md); in short:
 *   score = 0.45·S + 0.25·λ(L) + 0.15·U + 0.15·P ∈ [0, 1], and 0 while the latest report is offline or
 *   before any report said online. S = EWMA(α 0.2) of report outcomes, U = EWMA(α 0.05) of the same,
 *   L = EWMA(α 0.2) of latencyMs with λ = 1 at ≤ 300 ms falling log-linearly to 0 at ≥ 5 s,
 *   P = EWMA(α 0.2) of "egress IP unchanged since the previous online report".
 * The running state (S, U, L, P, last IP) is stored in the row so each report is folded in O(1); columns
 * are float8, which PostgreSQL and PGlite round-trip exactly, so a live fold and a rebuild agree to the bit.
 *
 * Retired devices keep their row (status 'retired', score 0). Pool traffic does not take device slots,
 * so capacity is deliberately not part of the ranking.
 */
import { sql } from 'kysely';
import type { Db } from '../adapters/db/database.ts';
import type { RecordedEvent } from '../adapters/eventstore/port.ts';
import type { FleetEvent, Tier } from '../domain/fleet/events.ts';
import { evolveScore, initialScoreState, scoreOf, type ScoreState } from '../domain/pool/score.ts';
import { assertNever } from '../domain/shared/errors.ts';
import type { Projection } from './projection.ts';

export interface PoolScoreRow {
  device_id: string;
  country_code: string;
  carrier_name: string;
  carrier_brand: string;
  /** How the gateway dials the modem, its password sealed (from the registration; a key rotation re-seals it). */
  upstream: string;
  tier_shared: boolean;
  tier_private: boolean;
  status: 'active' | 'retired';
  score: number;
  online: boolean;
  success: number;
  uptime: number;
  latency_ms: number | null;
  ip_stability: number;
  reports: bigint;
  last_report_at: Date | string | null;
  last_ip: string | null;
}

const EVENT_TYPES = ['DeviceRegistered', 'DeviceHealthReported', 'DeviceRetired', 'DeviceSecretsResealed'] as const satisfies readonly FleetEvent['type'][];
type PoolEvent = Extract<FleetEvent, { type: (typeof EVENT_TYPES)[number] }>;

const COLUMNS = [
  'country_code', 'carrier_name', 'carrier_brand', 'upstream', 'tier_shared', 'tier_private', 'status', 'score', 'online',
  'success', 'uptime', 'latency_ms', 'ip_stability', 'reports', 'last_report_at', 'last_ip',
] as const;

export const poolScoresProjection: Projection = {
  name: 'pool-scores',
  eventTypes: EVENT_TYPES,
  tables: ['pool_scores'],
  migrations: [
    {
      id: 'pool-scores/001-pool-scores',
      async up(db) {
        await sql`
          create table pool_scores (
            device_id text primary key,
            country_code text not null,
            carrier_name text not null,
            carrier_brand text not null,
            upstream text not null,
            tier_shared boolean not null,
            tier_private boolean not null,
            status text not null,
            score float8 not null,
            online boolean not null,
            success float8 not null,
            uptime float8 not null,
            latency_ms float8,
            ip_stability float8 not null,
            reports bigint not null,
            last_report_at timestamptz,
            last_ip text
          )`.execute(db);
        // rankedDevices only ever looks at eligible rows, best first
        await sql`create index pool_scores_rank on pool_scores (country_code, score desc, device_id) where status = 'active' and score > 0`.execute(db);
      },
    },
  ],

  // Folds the whole batch in memory and writes each touched device once (rebuilds stay fast).
  async apply(trx, events) {
    const ids = [...new Set(events.map((e) => (e.data as { deviceId: string }).deviceId))];
    const existing = (await trx.selectFrom('pool_scores').selectAll().where('device_id', 'in', ids).execute()) as PoolScoreRow[];
    const rows = new Map(existing.map((r) => [r.device_id, r]));
    for (const event of events) {
      const e = event as RecordedEvent & PoolEvent;
      const next = evolveRow(rows.get(e.data.deviceId), e);
      if (next) rows.set(next.device_id, next);
    }
    const touched = ids.map((id) => rows.get(id)).filter((r): r is PoolScoreRow => r !== undefined);
    if (touched.length === 0) return;
    await trx
      .insertInto('pool_scores')
      .values(touched.map((r) => ({ ...r, reports: r.reports.toString() })))
      .onConflict((oc) => oc.column('device_id').doUpdateSet(Object.fromEntries(COLUMNS.map((c) => [c, sql.ref(`excluded.${c}`)]))))
      .execute();
  },
};

function evolveRow(row: PoolScoreRow | undefined, event: RecordedEvent & PoolEvent): PoolScoreRow | undefined {
  switch (event.type) {
    case 'DeviceRegistered': {
      const d = event.data;
      return {
        device_id: d.deviceId,
        country_code: d.countryCode,
        carrier_name: d.carrier.name,
        carrier_brand: d.carrier.brand,
        upstream: d.upstream,
        tier_shared: d.tiers.includes('shared'),
        tier_private: d.tiers.includes('private'),
        status: 'active',
        ...stateColumns(initialScoreState()),
        reports: 0n,
        last_report_at: null,
      };
    }
    case 'DeviceHealthReported': {
      // The decider refuses reports for unknown or retired devices; a stray one changes nothing.
      if (!row || row.status !== 'active') return undefined;
      const { online, latencyMs, ip, reportedAt } = event.data;
      const state = evolveScore(stateOf(row), { online, latencyMs, ip });
      return { ...row, ...stateColumns(state), reports: BigInt(row.reports) + 1n, last_report_at: reportedAt };
    }
    case 'DeviceRetired':
      return row && { ...row, status: 'retired', score: 0 };
    case 'DeviceSecretsResealed': // key rotation: the same upstream, sealed under the new key
      return row && { ...row, upstream: event.data.upstream };
    default:
      return assertNever(event);
  }
}

function stateOf(row: PoolScoreRow): ScoreState {
  return {
    online: row.online,
    success: row.success,
    uptime: row.uptime,
    latencyMs: row.latency_ms,
    ipStability: row.ip_stability,
    lastIp: row.last_ip,
  };
}

/** The columns that hold the running score state; only active rows call this (a retired row is frozen at 0). */
function stateColumns(state: ScoreState) {
  return {
    score: scoreOf(state),
    online: state.online,
    success: state.success,
    uptime: state.uptime,
    latency_ms: state.latencyMs,
    ip_stability: state.ipStability,
    last_ip: state.lastIp,
  } satisfies Partial<PoolScoreRow>;
}

export interface RankedDevice {
  deviceId: string;
  countryCode: string;
  carrierName: string;
  carrierBrand: string;
  upstream: string;
  score: number;
  /** The latency average, rounded to whole ms; null when never measured. */
  latencyMs: number | null;
  lastIp: string | null;
  lastReportAt: string | null;
}

export interface RankQuery {
  /** ISO 3166-1 alpha-2 (any case), or 'any' for every country. */
  countryCode: string | 'any';
  /** Carrier name or brand, case-insensitive. */
  carrier?: string | null | undefined;
  tier: Tier;
  /** Devices the caller already tried (a failed upstream, the current sticky device). */
  exclude?: readonly string[] | undefined;
  limit: number;
}

/**
 * The devices the gateway's pool may route to for a tier: active, score > 0 (a health report said online
 * and the latest one still does; a registered modem that never reported is not eligible), and not held
 * by a private port. The one definition of pool stock: the gateway ranks from it, and the pool purchase
 * and the public stock feeds count from it, so what is sold is what the gateway will route to.
 */
export const poolEligible = (db: Db, tier: Tier) =>
  db
    .selectFrom('pool_scores')
    .where('pool_scores.status', '=', 'active')
    .where('pool_scores.score', '>', 0)
    .where(tier === 'shared' ? 'pool_scores.tier_shared' : 'pool_scores.tier_private', '=', true)
    // a device a private port holds is that customer's alone (devices read model's slots)
    .where(sql<boolean>`not exists (select 1 from fleet_slots s where s.device_id = pool_scores.device_id and s.tier = 'private')`);

/** Eligible devices (poolEligible) for a tier, best first; ties broken by device id so the order is stable. */
export async function rankedDevices(db: Db, { countryCode, carrier, tier, exclude = [], limit }: RankQuery): Promise<RankedDevice[]> {
  let query = poolEligible(db, tier)
    .select(['device_id', 'country_code', 'carrier_name', 'carrier_brand', 'upstream', 'score', 'latency_ms', 'last_ip', 'last_report_at']);
  if (countryCode !== 'any') query = query.where('country_code', '=', countryCode.toUpperCase());
  if (carrier) {
    const c = carrier.toLowerCase();
    query = query.where((eb) => eb.or([eb(sql`lower(carrier_name)`, '=', c), eb(sql`lower(carrier_brand)`, '=', c)]));
  }
  if (exclude.length > 0) query = query.where('device_id', 'not in', [...exclude]);
  const rows = (await query.orderBy('score', 'desc').orderBy('device_id').limit(limit).execute()) as PoolScoreRow[];
  return rows.map((r) => ({
    deviceId: r.device_id,
    countryCode: r.country_code,
    carrierName: r.carrier_name,
    carrierBrand: r.carrier_brand,
    upstream: r.upstream,
    score: r.score,
    latencyMs: r.latency_ms === null ? null : Math.round(r.latency_ms),
    lastIp: r.last_ip,
    lastReportAt: iso(r.last_report_at),
  }));
}

export async function findPoolScore(db: Db, deviceId: string): Promise<PoolScoreRow | undefined> {
  return (await db.selectFrom('pool_scores').selectAll().where('device_id', '=', deviceId).executeTakeFirst()) as PoolScoreRow | undefined;
}

const iso = (at: Date | string | null) => (at === null ? null : new Date(at).toISOString());
