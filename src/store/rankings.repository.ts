/**
 * Rankings of live events by bookings, revenue or utilization, each event with its position in
 * all three orders. Read from `events` (a short ranking of a large store on the ranking indexes of
 * migration 0011), never from bookings.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../platform/db.ts';
import { EVENT_VIEW, type EventRow } from './read.repository.ts';

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
