/**
 * Series reads: flows per local day in any zone, the running total a series starts from, and the
 * distinct events active per week or month. They read the day tables, the shifted days and the
 * activity masks (one row per event and UTC day): their cost grows with the days asked for (the
 * running total's start sums the days before the range), never with the bookings.
 */
import { sql } from 'kysely';
import { phaseAndDay } from '../aggregate/phases.ts';
import { monthStart, weekStart, type DayFlow } from '../aggregate/report.ts';
import { addDays, BUCKETS_PER_DAY } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import { firstBucketOf, periodsOf, spansOf, utcDaysOf, type Span } from './local-days.ts';
import { json } from './rows.ts';

/**
 * Flows per local day in [from, to]. In the zone the day tables are kept in this reads one row
 * per day. In any other zone a day of 24 hours is one shifted day (aggregate/phases.ts), one row;
 * a day the clocks changed in sums its quarter-hours, with its active events from the masks.
 */
export async function dayFlows(
  db: Db,
  from: string,
  to: string,
  tz: string,
  dayZone: string,
  eventId?: number,
): Promise<DayFlow[]> {
  const money = sql.raw('sum(revenue)::text as revenue, sum(gross_confirmed)::text as gross_confirmed');
  const counts = sql.raw(`sum(new_bookings)::int as new_bookings, sum(confirmed)::int as confirmed,
    sum(cancelled)::int as cancelled, sum(expired)::int as expired, sum(confirmed_base)::int as confirmed_base`);
  if (tz === dayZone) {
    if (eventId === undefined) {
      const { rows } = await sql<DayFlow>`
        select day::text as day, new_bookings, confirmed, cancelled, expired, revenue::text as revenue,
          gross_confirmed::text as gross_confirmed, confirmed_base, new_users, active_events
        from flow_day where day between ${from}::date and ${to}::date order by flow_day.day`.execute(db);
      return rows;
    }
    const { rows } = await sql<DayFlow>`
      select day::text as day, new_bookings, confirmed, cancelled, expired, revenue::text as revenue,
        gross_confirmed::text as gross_confirmed, confirmed_base, 0 as new_users, 1 as active_events
      from flow_day_event where event_id = ${eventId} and day between ${from}::date and ${to}::date
      order by flow_day_event.day`.execute(db);
    return rows;
  }
  const days = spansOf(periodsOf(from, to, tz), firstBucketOf(addDays(to, 1), tz));
  if (eventId !== undefined) {
    // Grouped by the day's index, the label looked up once per day rather than once per row: an
    // event's quarter-hours of a year are up to 35,000 rows.
    const labels = `{${days.map((d) => d.label).join(',')}}`;
    const firsts = `{${days.map((d) => d.first).join(',')}}`;
    const { rows } = await sql<DayFlow>`
      select (${labels}::text[])[i] as day, new_bookings, confirmed, cancelled, expired, revenue,
        gross_confirmed, confirmed_base, 0 as new_users, 1 as active_events
      from (
        select width_bucket(bucket, ${firsts}::int[]) as i, ${counts}, ${money}
        from flow_bucket_event where event_id = ${eventId}
          and bucket >= ${days[0]?.first ?? 0} and bucket < ${days.at(-1)?.end ?? 0}
        group by 1
      ) per_day
      order by i`.execute(db);
    return rows;
  }
  const whole = days.filter(isShiftedDay);
  const changed = days.filter((d) => !isShiftedDay(d));
  const [shifted, flows, activeByDay] = await Promise.all([
    whole.length === 0
      ? undefined
      : sql<DayFlow>`
          select x.label as day, f.new_bookings, f.confirmed, f.cancelled, f.expired, f.revenue::text as revenue,
            f.gross_confirmed::text as gross_confirmed, f.confirmed_base, f.new_users, f.active_events
          from json_to_recordset(${json(whole.map((d) => ({ label: d.label, ...phaseAndDay(d.first) })))}::json)
            as x(label text, phase int, day int)
          join flow_phase_day f on f.phase = x.phase and f.day = x.day`.execute(db),
    changed.length === 0
      ? undefined
      : // Lateral: an index range of quarter-hours per day, whatever the planner guesses.
        sql<Omit<DayFlow, 'active_events'>>`
          select s.label as day, f.new_bookings, f.confirmed, f.cancelled, f.expired, f.confirmed_base,
            f.revenue, f.gross_confirmed, f.new_users
          from json_to_recordset(${json(changed)}::json) as s(label text, first int, "end" int)
          cross join lateral (
            select count(*) as n, ${counts}, ${money}, sum(new_users)::int as new_users
            from flow_bucket where bucket >= s.first and bucket < s."end"
          ) f
          where f.n > 0`.execute(db),
    activeEvents(db, changed),
  ]);
  return [
    ...(shifted?.rows ?? []),
    ...(flows?.rows ?? []).map((r) => ({ ...r, active_events: activeByDay.get(r.day) ?? 0 })),
  ].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/** A local day of 24 hours is a shifted day; one the clocks changed in is not. */
function isShiftedDay(span: Span): boolean {
  return span.end - span.first === BUCKETS_PER_DAY;
}

/** Bookings created before a local date: the running total a series starts from. */
export async function bookingsCreatedBefore(
  db: Db,
  date: string,
  tz: string,
  dayZone: string,
): Promise<number> {
  if (tz === dayZone) {
    const { rows } = await sql<{ n: number }>`
      select coalesce(sum(new_bookings), 0)::float8 as n from flow_day where day < ${date}::date`.execute(db);
    return rows[0]?.n ?? 0;
  }
  // The shifted days of one phase cover every bucket before the one that starts theirs.
  const { phase, day } = phaseAndDay(firstBucketOf(date, tz));
  const { rows } = await sql<{ n: number }>`
    select coalesce(sum(new_bookings), 0)::float8 as n from flow_phase_day
    where phase = ${phase} and day < ${day}`.execute(db);
  return rows[0]?.n ?? 0;
}

/** Distinct events with a transition in each period (week or month start) over days in [from, to]. */
export async function activeEventsByPeriod(
  db: Db,
  from: string,
  to: string,
  tz: string,
  dayZone: string,
  unit: 'week' | 'month',
): Promise<Map<string, number>> {
  if (tz !== dayZone) {
    const labelOf = unit === 'week' ? weekStart : monthStart;
    return activeEvents(db, spansOf(periodsOf(from, to, tz, { labelOf }), firstBucketOf(addDays(to, 1), tz)));
  }
  // Distinct pairs first, then a count per period: a hash of (period, event) pairs, where
  // count(distinct) sorted every day's row of the window (and spilled to disk at 10⁶ bookings).
  const { rows } = await sql<{ period: string; n: number }>`
    select period::text, count(*)::int as n
    from (
      select distinct date_trunc(${unit}, day)::date as period, event_id
      from flow_day_event where day between ${from}::date and ${to}::date and transitions > 0
    ) pairs
    group by period`.execute(db);
  return new Map(rows.map((r) => [r.period, r.n]));
}

/**
 * Distinct events with a transition in each period, from the activity masks (one row per event and
 * UTC day, whatever the number of bookings): each period is cut into the UTC days it covers, with
 * the quarter-hours of each day that lie in it.
 */
async function activeEvents(db: Db, periods: readonly Span[]): Promise<Map<string, number>> {
  const segments = periods.flatMap((p) =>
    utcDaysOf(p.first, p.end).map(({ day, mask }) => ({ label: p.label, day, mask })),
  );
  if (segments.length === 0) return new Map();
  const { rows } = await sql<{ label: string; n: number }>`
    with s as materialized (
      select label, day, coalesce(mask, repeat('1', 96))::bit(96) as mask
      from json_to_recordset(${json(segments)}::json) as x(label text, day int, mask text)
    )
    select label, count(*)::int as n
    from (
      select distinct s.label, m.event_id
      from s join flow_mask_event m on m.day = s.day
      -- The days again, as a list the planner can see (it guesses 100 rows for json_to_recordset,
      -- and for a day or two would scan every mask rather than read those days' rows by the index).
      where m.day = any(${`{${[...new Set(segments.map((x) => x.day))].join(',')}}`}::int[])
        and bit_count(m.quarters & s.mask) > 0
    ) pairs
    group by label`.execute(db);
  return new Map(rows.map((r) => [r.label, r.n]));
}
