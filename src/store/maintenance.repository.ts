/** Whole-table maintenance: re-deriving the day tables for another zone, and wiping aggregates. */
import { sql } from 'kysely';
import type { Db } from '../platform/db.ts';

const FLOW_SUMS = `sum(new_bookings)::int, sum(confirmed)::int, sum(cancelled)::int, sum(expired)::int,
  sum(revenue), sum(gross_confirmed), sum(confirmed_base)::int`;
const FLOW_COLUMNS = 'new_bookings, confirmed, cancelled, expired, revenue, gross_confirmed, confirmed_base';

/**
 * The day tables are kept in one zone (REPORTING_TIMEZONE). When that setting changes they are
 * re-derived from the quarter-hour buckets, which do not depend on any zone.
 */
export async function rebuildDayTables(trx: Db, zone: string): Promise<void> {
  const day = sql`(to_timestamp(bucket * 900) at time zone ${zone})::date`;
  await sql`delete from flow_day_event`.execute(trx);
  await sql`delete from flow_day`.execute(trx);
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
  await sql`update totals set day_zone = ${zone} where id = 1`.execute(trx);
}

/** Empties every aggregate (not the event log, not disabled users), for a rebuild. */
export async function clearAggregates(trx: Db): Promise<void> {
  await sql`truncate bookings, events, event_currency_revenue, flow_bucket, flow_bucket_event, flow_day,
    flow_day_event, users`.execute(trx);
  await sql`update totals set bookings = 0, revenue = 0, users = 0 where id = 1`.execute(trx);
}
