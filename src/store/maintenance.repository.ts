/** Whole-table maintenance: re-deriving the day tables for another zone, and wiping aggregates. */
import { sql } from 'kysely';
import { localDayOfBucket } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import { periodOfBucket, type Period } from './local-days.ts';

const FLOW_SUMS = `sum(new_bookings)::int, sum(confirmed)::int, sum(cancelled)::int, sum(expired)::int,
  sum(revenue), sum(gross_confirmed), sum(confirmed_base)::int`;
const FLOW_COLUMNS = 'new_bookings, confirmed, cancelled, expired, revenue, gross_confirmed, confirmed_base';

/**
 * The day tables are kept in one zone (REPORTING_TIMEZONE). When that setting changes they are
 * re-derived from the quarter-hour buckets, which do not depend on any zone.
 */
export async function rebuildDayTables(trx: Db, zone: string): Promise<void> {
  await sql`delete from flow_day_event`.execute(trx);
  await sql`delete from flow_day`.execute(trx);
  // Each bucket's day as ingest labels it (its start's local date, ICU), not with PostgreSQL's own
  // zone rules (local-days.ts): the days in which buckets begin, and the first bucket of each.
  const { rows } = await sql<{ bucket: number }>`
    select bucket from flow_bucket union select bucket from flow_bucket_event order by 1`.execute(trx);
  const dayOf = localDayOfBucket(zone);
  const days: Period[] = [];
  for (const { bucket } of rows) {
    const label = dayOf(bucket);
    if (days.at(-1)?.label !== label) days.push({ label, first: bucket });
  }
  if (days.length === 0) return setDayZone(trx, zone);
  const day = periodOfBucket(sql`bucket`, days);
  await sql`
    insert into flow_day_event (event_id, day, ${sql.raw(FLOW_COLUMNS)}, transitions)
    select event_id, ${day}, ${sql.raw(FLOW_SUMS)}, sum(transitions)::int
    from flow_bucket_event group by 1, 2`.execute(trx);
  await sql`
    insert into flow_day (day, ${sql.raw(FLOW_COLUMNS)}, new_users, active_events)
    select f.*, coalesce(a.n, 0) from (
      select ${day} as day, ${sql.raw(FLOW_SUMS)}, sum(new_users)::int from flow_bucket group by 1
    ) f left join (
      select day, count(*)::int as n from flow_day_event where transitions > 0 group by day
    ) a on a.day = f.day`.execute(trx);
  await setDayZone(trx, zone);
}

export async function setDayZone(trx: Db, zone: string): Promise<void> {
  await sql`update totals set day_zone = ${zone} where id = 1`.execute(trx);
}

/** The tables a rebuild recomputes: every aggregate, not the event log, not user status. */
export const AGGREGATE_TABLES = [
  'bookings',
  'events',
  'event_currency_revenue',
  'flow_bucket',
  'flow_bucket_event',
  'flow_mask_event',
  'flow_phase_day',
  'flow_day',
  'flow_day_event',
  'users',
] as const;

/**
 * Empties every aggregate, for a rebuild. DELETE, not TRUNCATE: TRUNCATE takes an ACCESS EXCLUSIVE
 * lock that every reader would queue behind until the rebuild commits, while rows deleted in an
 * open transaction stay visible to everyone else, so readers keep the old figures meanwhile.
 */
export async function clearAggregates(trx: Db): Promise<void> {
  for (const table of AGGREGATE_TABLES) await sql`delete from ${sql.table(table)}`.execute(trx);
  await sql`update totals set bookings = 0, revenue = 0, users = 0 where id = 1`.execute(trx);
}

/**
 * Gives the transaction empty private copies of the aggregate tables, and a copy of `totals`, for a
 * recomputation that must not touch the real ones (reconcile). A temporary table shadows the real
 * table of its name for every unqualified name in this session (PostgreSQL searches `pg_temp`
 * first), so the ingest statements write into the copies unchanged; the copies go when the
 * transaction ends. Readers meanwhile see the real tables untouched, and nothing is left to vacuum.
 */
export async function shadowAggregates(trx: Db): Promise<void> {
  for (const table of AGGREGATE_TABLES) {
    // `like` is resolved before the copy exists, so it names the real table.
    await sql`create temporary table ${sql.table(table)} (like ${sql.table(table)} including all) on commit drop`.execute(
      trx,
    );
  }
  await sql`create temporary table totals on commit drop as select * from totals`.execute(trx);
}

/** The time before which processed messages lost their payload to retention, if ever. */
export async function logPrunedBefore(db: Db): Promise<string | undefined> {
  const { rows } = await sql<{ t: string | null }>`
    select to_char(log_pruned_before at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as t from totals where id = 1`.execute(
    db,
  );
  return rows[0]?.t ?? undefined;
}

export interface RetentionResult {
  deleted: number;
  payloadsDropped: number;
}

/**
 * Event-log retention. Duplicates, ignored and rejected messages older than the cutoff are
 * deleted. Processed messages keep their row and key (so a late re-delivery is still recognised
 * as a duplicate) but lose their payload; the cutoff is recorded, so a rebuild says what it lacks.
 */
export async function pruneEventLog(trx: Db, olderThanDays: number): Promise<RetentionResult> {
  const cutoff = sql`now() - make_interval(days => ${olderThanDays})`;
  const deleted = await sql`
    delete from event_log where received_at < ${cutoff} and outcome <> 'processed'`.execute(trx);
  const dropped = await sql`
    update event_log set raw = '' where received_at < ${cutoff} and outcome = 'processed' and raw <> ''`.execute(
    trx,
  );
  const payloadsDropped = Number(dropped.numAffectedRows ?? 0);
  if (payloadsDropped > 0) {
    await sql`update totals set log_pruned_before = greatest(coalesce(log_pruned_before, ${cutoff}), ${cutoff}) where id = 1`.execute(
      trx,
    );
  }
  return { deleted: Number(deleted.numAffectedRows ?? 0), payloadsDropped };
}
