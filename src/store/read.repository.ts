/**
 * Read queries. Every one reads pre-computed aggregates (events, flows, totals): their cost grows
 * with the number of events and days asked for, never with the number of bookings.
 */
import { sql, type RawBuilder } from 'kysely';
import { nameKey } from '../aggregate/events.ts';
import { phaseAndDay } from '../aggregate/phases.ts';
import { monthStart, weekStart } from '../aggregate/report.ts';
import { addDays, BUCKETS_PER_DAY, localMidnightUtc } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import { firstBucketOf, periodsOf, spansOf, utcDaysOf, type Span } from './local-days.ts';
import { json } from './rows.ts';

/**
 * Where local days begin, in epoch seconds, worked out in TypeScript rather than with PostgreSQL's
 * `'<date>'::timestamp at time zone`: where clocks go back over midnight (America/Havana,
 * Atlantic/Azores) local midnight happens twice, PostgreSQL takes the second and the day's first
 * hour would fall into the day before. A day begins at its first midnight.
 */
function dayStart(date: string, tz: string): number {
  return localMidnightUtc(date, tz) / 1000;
}

/** [start of `from`, start of the day after `to`), in epoch seconds. */
function daySpan(from: string, to: string, tz: string): { start: number; end: number } {
  return { start: dayStart(from, tz), end: dayStart(addDays(to, 1), tz) };
}

export interface EventRow {
  event_id: number;
  event_name: string;
  category: string | null;
  total_capacity: number;
  price: number | null;
  status: string | null;
  event_date: number | null;
  created_at: number | null;
  deleted: boolean;
  total_bookings: number;
  confirmed_bookings: number;
  cancelled_bookings: number;
  expired_bookings: number;
  pending_bookings: number;
  tickets_sold: number;
  capacity_utilization: number | null;
  sell_through: number | null;
  total_revenue: number;
  cancellation_rate: number;
  avg_booking_value: number;
  first_booking: number | null;
  last_booking: number | null;
  other_currency_revenue: Record<string, number> | string;
}

/** Per-event figures with the derived ones computed exactly (NUMERIC) and rounded once. */
const EVENT_VIEW = sql.raw(`(
  select e.event_id::float8 as event_id, e.event_name, e.category, e.total_capacity, e.price::float8 as price,
    e.status, (extract(epoch from e.event_date) * 1000)::float8 as event_date,
    (extract(epoch from e.created_at) * 1000)::float8 as created_at, e.deleted,
    e.total_bookings, e.confirmed_bookings, e.cancelled_bookings, e.expired_bookings, e.pending_bookings,
    e.tickets_sold::float8 as tickets_sold,
    case when e.total_capacity > 0 then round(100.0 * e.seats_held / e.total_capacity, 2)::float8 end
      as capacity_utilization,
    case when e.total_capacity > 0 then round(100.0 * e.tickets_sold / e.total_capacity, 2)::float8 end
      as sell_through,
    round(e.total_revenue, 2)::float8 as total_revenue,
    case when e.total_bookings > 0 then round(100.0 * e.cancelled_bookings / e.total_bookings, 2)::float8
      else 0 end as cancellation_rate,
    coalesce(round(e.total_revenue / nullif(e.confirmed_base, 0), 2)::float8, 0) as avg_booking_value,
    (extract(epoch from e.first_booking) * 1000)::float8 as first_booking,
    (extract(epoch from e.last_booking) * 1000)::float8 as last_booking,
    coalesce((select jsonb_object_agg(c.currency, round(c.amount, 2)::float8 order by c.currency)
      from event_currency_revenue c where c.event_id = e.event_id and c.confirmed > 0), '{}'::jsonb)
      as other_currency_revenue,
    e.event_id as sort_id,
    e.name_key,
    e.total_revenue as exact_revenue,
    case when e.total_capacity > 0 then 100.0 * e.seats_held / e.total_capacity end as exact_utilization,
    case when e.total_capacity > 0 then 100.0 * e.tickets_sold / e.total_capacity end as exact_sell_through,
    case when e.total_bookings > 0 then 100.0 * e.cancelled_bookings / e.total_bookings end as exact_cancellation_rate,
    coalesce(e.total_revenue / nullif(e.confirmed_base, 0), 0) as exact_avg_booking_value
  from events e
) ev`);

export const EVENT_SORT_FIELDS = [
  'event_id',
  'event_name',
  'total_capacity',
  'total_bookings',
  'confirmed_bookings',
  'cancelled_bookings',
  'expired_bookings',
  'pending_bookings',
  'tickets_sold',
  'capacity_utilization',
  'sell_through',
  'total_revenue',
  'cancellation_rate',
  'avg_booking_value',
  'price',
] as const;
export type EventSortField = (typeof EVENT_SORT_FIELDS)[number];

export interface EventFilter {
  category?: string | undefined;
  status?: string | undefined;
  q?: string | undefined;
}

/** An empty filter (a form's blank field) filters nothing. */
function filterSql(f: EventFilter): RawBuilder<unknown> {
  const parts = [sql`not ev.deleted`];
  if (f.category) parts.push(sql`ev.category = ${f.category}`);
  if (f.status) parts.push(sql`ev.status = ${f.status}`);
  // A literal substring of the name, without accents or case (nameKey), whatever the collation.
  if (f.q) parts.push(sql`strpos(ev.name_key, ${nameKey(f.q)}) > 0`);
  return sql.join(parts, sql` and `);
}

/**
 * What a sort orders by: the exact figure, not the rounded one shown (33.334 % ranks above
 * 33.333 %, as in the rankings); a name by its key, then as written.
 */
function sortSql(sort: EventSortField, direction: RawBuilder<unknown>): RawBuilder<unknown> {
  const by = (column: string) => sql`${sql.ref(`ev.${column}`)} ${direction}`;
  switch (sort) {
    case 'event_name':
      return sql`ev.name_key collate "C" ${direction}, ev.event_name collate "C" ${direction}`;
    case 'capacity_utilization':
      return by('exact_utilization');
    case 'sell_through':
      return by('exact_sell_through');
    case 'total_revenue':
      return by('exact_revenue');
    case 'cancellation_rate':
      return sql`coalesce(ev.exact_cancellation_rate, 0) ${direction}`;
    case 'avg_booking_value':
      return by('exact_avg_booking_value');
    default:
      return by(sort);
  }
}

export async function findEvent(db: Db, eventId: number): Promise<EventRow | undefined> {
  const { rows } = await sql<EventRow>`select * from ${EVENT_VIEW} where ev.sort_id = ${eventId}`.execute(db);
  return rows[0];
}

export async function listEvents(
  db: Db,
  filter: EventFilter,
  sort: EventSortField,
  order: 'asc' | 'desc',
  limit: number,
  offset: number,
): Promise<{ rows: EventRow[]; total: number; summary: EventSummary }> {
  const where = filterSql(filter);
  const direction = sql.raw(order === 'asc' ? 'asc nulls last' : 'desc nulls last');
  const [page, summary] = await Promise.all([
    // The page's ids are sorted first, then only its rows get the whole view (their other
    // currencies, ...): a deep page does not build every row it skips.
    sql<EventRow>`with page as materialized (
        select ev.sort_id from ${EVENT_VIEW} where ${where}
        order by ${sortSql(sort, direction)}, ev.event_id asc limit ${limit} offset ${offset}
      )
      select ev.* from page p join ${EVENT_VIEW} on ev.sort_id = p.sort_id
      order by ${sortSql(sort, direction)}, ev.event_id asc`.execute(db),
    sql<EventSummary & { total: number }>`
      select count(*)::int as total,
        coalesce(sum(ev.total_bookings), 0)::int as total_bookings,
        coalesce(round(sum(ev.exact_revenue), 2), 0)::float8 as total_revenue,
        coalesce(round(avg(ev.exact_utilization), 2), 0)::float8 as avg_capacity_utilization,
        coalesce(round(avg(ev.exact_cancellation_rate), 2), 0)::float8
          as avg_cancellation_rate
      from ${EVENT_VIEW} where ${where}`.execute(db),
  ]);
  const s = summary.rows[0] ?? {
    total: 0,
    total_bookings: 0,
    total_revenue: 0,
    avg_capacity_utilization: 0,
    avg_cancellation_rate: 0,
  };
  const { total, ...rest } = s;
  return { rows: page.rows, total, summary: rest };
}

export interface EventSummary {
  total_bookings: number;
  total_revenue: number;
  avg_capacity_utilization: number;
  avg_cancellation_rate: number;
}

export interface RankedEventRow extends EventRow {
  booking_rank: number;
  revenue_rank: number;
  utilization_rank: number;
}

export type RankBy = 'bookings' | 'revenue' | 'utilization';

/** An event's utilization as the ranking index orders it (exact NUMERIC; null without a capacity). */
const UTILIZATION = (e: string) => sql.raw(`(100.0 * ${e}.seats_held / ${e}.total_capacity)`);

/**
 * The first `limit` live events of one order, read from that order's index (migration 0011), each
 * with its position in it.
 */
function firstOf(by: RankBy, limit: number): RawBuilder<unknown> {
  switch (by) {
    case 'bookings':
      return sql`select event_id, row_number() over (order by total_bookings desc, event_id) as position
        from (select event_id, total_bookings from events where not deleted
          order by total_bookings desc, event_id limit ${limit}) f`;
    case 'revenue':
      return sql`select event_id, row_number() over (order by total_revenue desc, event_id) as position
        from (select event_id, total_revenue from events where not deleted
          order by total_revenue desc, event_id limit ${limit}) f`;
    case 'utilization':
      // Events without a capacity (null utilization) come after every other, by id. When those with
      // one fill the page, the positions numbered past it are never shown.
      return sql`select event_id, row_number() over (order by u desc nulls last, event_id) as position from (
          (select event_id, ${UTILIZATION('events')} as u from events where not deleted and total_capacity > 0
            order by ${UTILIZATION('events')} desc, event_id limit ${limit})
          union all
          (select event_id, null from events where not deleted and total_capacity <= 0
            order by event_id limit ${limit})
        ) f`;
  }
}

/** An event's position in one order: 1 + the live events before it there, counted on its index. */
function positionIn(by: RankBy): RawBuilder<unknown> {
  switch (by) {
    case 'bookings':
      return sql`1 + (select count(*) from events x where not x.deleted
        and (x.total_bookings, -x.event_id) > (e.total_bookings, -e.event_id))`;
    case 'revenue':
      return sql`1 + (select count(*) from events x where not x.deleted
        and (x.total_revenue, -x.event_id) > (e.total_revenue, -e.event_id))`;
    case 'utilization':
      return sql`1 + case when e.total_capacity > 0
        then (select count(*) from events x where not x.deleted and x.total_capacity > 0
          and (${UTILIZATION('x')}, -x.event_id) > (${UTILIZATION('e')}, -e.event_id))
        else (select count(*) from events x where not x.deleted and x.total_capacity > 0)
          + (select count(*) from events x where not x.deleted and x.total_capacity <= 0
            and x.event_id < e.event_id)
        end`;
  }
}

/**
 * Up to this many events a ranking counts each one's positions in the other orders on their indexes
 * (cheap when the orders go together, up to two index ranges of every live event per row when they
 * do not); beyond it, it numbers every live event in the three orders, on the few columns they need.
 */
const COUNTED_RANKS_MAX = 10;
/**
 * Below this many live events numbering them all is cheaper than counting anything: a few hundred
 * events whose rows are updated by every batch spread over many pages, which each count reads.
 */
const COUNTED_RANKS_FROM_EVENTS = 5_000;
/** How many live events the last ranking of each store saw: the next one's choice of method. */
const liveEventsSeen = new WeakMap<Db, number>();

export type RankMethod = 'counted' | 'numbered';

/**
 * The method a ranking of `limit` events takes on this store. Before its first ranking a process
 * knows the store's size only from PostgreSQL's statistics (rows of `events`, deleted ones too, as of
 * the last analyze; none on a store never analyzed): enough to choose, where numbering every event
 * of a large store made the first ranking after a start about ten times slower than the next.
 */
export async function rankMethod(db: Db, limit: number): Promise<RankMethod> {
  if (limit > COUNTED_RANKS_MAX) return 'numbered';
  let live = liveEventsSeen.get(db);
  if (live === undefined) {
    const { rows } = await sql<{ n: number }>`
      select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'events'::regclass`.execute(db);
    live = rows[0]?.n ?? 0;
  }
  return live >= COUNTED_RANKS_FROM_EVENTS ? 'counted' : 'numbered';
}

/** A ranked row as both methods read it: with the number of live events alongside. */
type RankedWithTotal = RankedEventRow & { total: number };

/**
 * Live events in one ranking order, each with its position in all three. With many live events, a
 * short ranking (the dashboard's, the default top 10) takes its first events and their positions
 * from the order's index and counts each one's positions in the other two orders on theirs;
 * otherwise every live event is numbered in all three orders, on their figures alone. Either way
 * whole rows are built for the page only: at 100,000 events, sorting them three times took 0.7 s.
 */
export async function rankedEvents(
  db: Db,
  by: RankBy,
  limit: number,
  /** For tests: both methods give the same rows. */
  method?: RankMethod,
): Promise<{ rows: RankedEventRow[]; total: number }> {
  const counted = (method ?? (await rankMethod(db, limit))) === 'counted';
  const rows = counted ? await countedRanks(db, by, limit) : await numberedRanks(db, by, limit);
  const total = rows[0]?.total ?? 0;
  liveEventsSeen.set(db, total);
  return { rows, total };
}

async function countedRanks(db: Db, by: RankBy, limit: number): Promise<RankedWithTotal[]> {
  const rank = (order: RankBy) => (order === by ? sql`f.position` : positionIn(order));
  const { rows } = await sql<RankedWithTotal>`
    select ev.*,
      (${rank('bookings')})::int as booking_rank,
      (${rank('revenue')})::int as revenue_rank,
      (${rank('utilization')})::int as utilization_rank,
      (select count(*) from events where not deleted)::int as total
    from (${firstOf(by, limit)}) f
    join events e on e.event_id = f.event_id
    join ${EVENT_VIEW} on ev.sort_id = e.event_id
    where f.position <= ${limit}
    order by f.position`.execute(db);
  return rows;
}

async function numberedRanks(db: Db, by: RankBy, limit: number): Promise<RankedWithTotal[]> {
  const rankColumn = sql.raw(`${by === 'bookings' ? 'booking' : by}_rank`);
  const { rows } = await sql<RankedWithTotal>`
    select ev.*, r.booking_rank, r.revenue_rank, r.utilization_rank, r.total from (
      select event_id,
        row_number() over (order by total_bookings desc, event_id)::int as booking_rank,
        row_number() over (order by total_revenue desc, event_id)::int as revenue_rank,
        row_number() over (
          order by case when total_capacity > 0 then ${UTILIZATION('events')} end desc nulls last, event_id
        )::int as utilization_rank,
        count(*) over ()::int as total
      from events where not deleted
      order by ${rankColumn} limit ${limit}
    ) r
    join ${EVENT_VIEW} on ev.sort_id = r.event_id
    order by r.${rankColumn}`.execute(db);
  return rows;
}

export interface CapacityRow {
  average_utilization: number;
  total_events: number;
  high: number;
  medium: number;
  low: number;
}

export async function capacitySummary(db: Db): Promise<CapacityRow> {
  const { rows } = await sql<CapacityRow>`
    select coalesce(round(avg(u), 2), 0)::float8 as average_utilization, count(*)::int as total_events,
      count(*) filter (where u >= 80)::int as high,
      count(*) filter (where u >= 50 and u < 80)::int as medium,
      count(*) filter (where u < 50)::int as low
    from (select 100.0 * seats_held / total_capacity as u from events where not deleted and total_capacity > 0) x`.execute(
    db,
  );
  return rows[0] as CapacityRow;
}

export async function utilizationList(
  db: Db,
  which: 'top' | 'under',
  limit: number,
): Promise<{ event_id: number; event_name: string; utilization: number }[]> {
  // x.event_id: the column (bigint) the index is in order of, not the float8 the answer carries.
  const order = sql.raw(which === 'top' ? 'u desc, x.event_id asc' : 'u asc, x.event_id asc');
  const filter = which === 'under' ? sql`and 100.0 * seats_held / total_capacity < 50` : sql``;
  const { rows } = await sql<{ event_id: number; event_name: string; utilization: number }>`
    select event_id::float8 as event_id, event_name, round(u, 2)::float8 as utilization from (
      select event_id, event_name, 100.0 * seats_held / total_capacity as u from events
      where not deleted and total_capacity > 0 ${filter}
    ) x order by ${order} limit ${limit}`.execute(db);
  return rows;
}

export interface SystemRow {
  total_events: number;
  total_bookings: number;
  total_users: number;
  total_revenue: number;
  /** Currency → confirmed amount in that currency, over every booking (as total_revenue). */
  other_currency_revenue: Record<string, number> | string;
  avg_capacity_utilization: number;
  avg_cancellation_rate: number;
  data_version: number;
  processed: number;
  duplicates: number;
  ignored: number;
  rejected: number;
}

export async function systemTotals(db: Db): Promise<SystemRow> {
  const { rows } = await sql<SystemRow>`
    select
      l.total_events,
      t.bookings::float8 as total_bookings, t.users::float8 as total_users,
      round(t.revenue, 2)::float8 as total_revenue,
      coalesce((select jsonb_object_agg(c.currency, c.amount order by c.currency)
        from (select currency, round(sum(amount), 2)::float8 as amount from event_currency_revenue
              group by currency having sum(confirmed) > 0) c), '{}'::jsonb) as other_currency_revenue,
      l.avg_capacity_utilization, l.avg_cancellation_rate,
      t.data_version::float8 as data_version, t.processed::float8 as processed,
      t.duplicates::float8 as duplicates, t.ignored::float8 as ignored, t.rejected::float8 as rejected
    from totals t, (
      -- One pass over the live events for the three figures.
      select count(*)::int as total_events,
        coalesce(round(avg(100.0 * seats_held / total_capacity) filter (where total_capacity > 0), 2), 0)::float8
          as avg_capacity_utilization,
        coalesce(round(avg(100.0 * cancelled_bookings / total_bookings) filter (where total_bookings > 0), 2), 0)::float8
          as avg_cancellation_rate
      from events where not deleted
    ) l where t.id = 1`.execute(db);
  return rows[0] as SystemRow;
}

export async function countEventsCreatedBetween(
  db: Db,
  from: string,
  to: string,
  tz: string,
): Promise<number> {
  const { start, end } = daySpan(from, to, tz);
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from events
    where not deleted and created_at >= to_timestamp(${start}) and created_at < to_timestamp(${end})`.execute(
    db,
  );
  return rows[0]?.n ?? 0;
}

export async function dataVersion(db: Db): Promise<number> {
  const { rows } = await sql<{
    v: number;
  }>`select data_version::float8 as v from totals where id = 1`.execute(db);
  return rows[0]?.v ?? 0;
}

/** Flows of one local day. Money is already rounded to cents from exact sums. */
export interface DayFlowRow {
  day: string;
  new_bookings: number;
  confirmed: number;
  cancelled: number;
  expired: number;
  revenue: string;
  gross_confirmed: string;
  confirmed_base: number;
  new_users: number;
  active_events: number;
}

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
): Promise<DayFlowRow[]> {
  const money = sql.raw('sum(revenue)::text as revenue, sum(gross_confirmed)::text as gross_confirmed');
  const counts = sql.raw(`sum(new_bookings)::int as new_bookings, sum(confirmed)::int as confirmed,
    sum(cancelled)::int as cancelled, sum(expired)::int as expired, sum(confirmed_base)::int as confirmed_base`);
  if (tz === dayZone) {
    if (eventId === undefined) {
      const { rows } = await sql<DayFlowRow>`
        select day::text as day, new_bookings, confirmed, cancelled, expired, revenue::text as revenue,
          gross_confirmed::text as gross_confirmed, confirmed_base, new_users, active_events
        from flow_day where day between ${from}::date and ${to}::date order by day`.execute(db);
      return rows;
    }
    const { rows } = await sql<DayFlowRow>`
      select day::text as day, new_bookings, confirmed, cancelled, expired, revenue::text as revenue,
        gross_confirmed::text as gross_confirmed, confirmed_base, 0 as new_users, 1 as active_events
      from flow_day_event where event_id = ${eventId} and day between ${from}::date and ${to}::date
      order by day`.execute(db);
    return rows;
  }
  const days = spansOf(periodsOf(from, to, tz), firstBucketOf(addDays(to, 1), tz));
  if (eventId !== undefined) {
    // Grouped by the day's index, the label looked up once per day rather than once per row: an
    // event's quarter-hours of a year are up to 35,000 rows.
    const labels = `{${days.map((d) => d.label).join(',')}}`;
    const firsts = `{${days.map((d) => d.first).join(',')}}`;
    const { rows } = await sql<DayFlowRow>`
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
      : sql<DayFlowRow>`
          select x.label as day, f.new_bookings, f.confirmed, f.cancelled, f.expired, f.revenue::text as revenue,
            f.gross_confirmed::text as gross_confirmed, f.confirmed_base, f.new_users, f.active_events
          from json_to_recordset(${json(whole.map((d) => ({ label: d.label, ...phaseAndDay(d.first) })))}::json)
            as x(label text, phase int, day int)
          join flow_phase_day f on f.phase = x.phase and f.day = x.day`.execute(db),
    changed.length === 0
      ? undefined
      : // Lateral: an index range of quarter-hours per day, whatever the planner guesses.
        sql<Omit<DayFlowRow, 'active_events'>>`
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

/** Identifies this store, so caches shared through Redis never mix two deployments' figures. */
export async function storeId(db: Db): Promise<string> {
  const { rows } = await sql<{ id: string }>`select store_id as id from totals where id = 1`.execute(db);
  return rows[0]?.id ?? 'default';
}

export async function dayZone(db: Db): Promise<string> {
  const { rows } = await sql<{ z: string }>`select day_zone as z from totals where id = 1`.execute(db);
  return rows[0]?.z ?? 'UTC';
}
