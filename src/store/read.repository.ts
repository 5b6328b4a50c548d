/**
 * Reads of events and the store's totals: the event view and list, capacity, system totals, the
 * data version and the store's identity (rankings are in rankings.repository.ts, day series in
 * series.repository.ts). Every one reads pre-computed aggregates: their cost grows with the number
 * of events and days asked for, never with the number of bookings.
 */
import { sql, type RawBuilder } from 'kysely';
import { nameKey } from '../aggregate/events.ts';
import type { EventStatsRow } from '../aggregate/report.ts';
import { addDays, localMidnightUtc } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';

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

/** An event's row in the event view: its figures as the core reports them, and whether it was deleted. */
export interface EventRow extends EventStatsRow {
  deleted: boolean;
}

/** Per-event figures with the derived ones computed exactly (NUMERIC) and rounded once. */
export const EVENT_VIEW = sql.raw(`(
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

/** Identifies this store, so caches shared through Redis never mix two deployments' figures. */
export async function storeId(db: Db): Promise<string> {
  const { rows } = await sql<{ id: string }>`select store_id as id from totals where id = 1`.execute(db);
  return rows[0]?.id ?? 'default';
}

export async function dayZone(db: Db): Promise<string> {
  const { rows } = await sql<{ z: string }>`select day_zone as z from totals where id = 1`.execute(db);
  return rows[0]?.z ?? 'UTC';
}
