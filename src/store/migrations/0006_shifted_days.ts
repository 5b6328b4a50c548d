/**
 * Frozen in time: imports nothing from the application.
 *
 * Shifted days: the flows and active events of every 24-hour window [day · 96 + phase,
 * day · 96 + phase + 96) of UTC quarter-hours, phase 0..95. A local day of any zone that lasts 24
 * hours is one of them, so it is read as one row, where it took its quarter-hours' rows and one
 * mask row per event (both growing with the bookings). Filled here from flow_bucket and
 * flow_mask_event; kept by ingest from then on.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table flow_phase_day (
      phase smallint not null,
      day int not null,
      new_bookings int not null default 0,
      confirmed int not null default 0,
      cancelled int not null default 0,
      expired int not null default 0,
      revenue numeric(20,4) not null default 0,
      gross_confirmed numeric(20,4) not null default 0,
      confirmed_base int not null default 0,
      new_users int not null default 0,
      active_events int not null default 0,
      primary key (phase, day)
    )`.execute(db);
  // Every bucket lies in one shifted day of each phase (floor division: buckets before 1970 are
  // negative).
  await sql`
    insert into flow_phase_day (phase, day, new_bookings, confirmed, cancelled, expired, revenue,
      gross_confirmed, confirmed_base, new_users)
    select p, floor((bucket - p) / 96.0)::int, sum(new_bookings), sum(confirmed), sum(cancelled),
      sum(expired), sum(revenue), sum(gross_confirmed), sum(confirmed_base), sum(new_users)
    from flow_bucket cross join generate_series(0, 95) p
    group by 1, 2`.execute(db);
  // An event is active in the shifted day (p, d) when its last active quarter of day d is at p or
  // later, or its first of day d + 1 is before p.
  await sql`
    with m as (
      select event_id, day, position('1' in quarters::text) - 1 as first,
        96 - position('1' in reverse(quarters::text)) as last
      from flow_mask_event where bit_count(quarters) > 0
    ), pairs as (
      select coalesce(a.day, b.day - 1) as day, coalesce(a.last, -1) as last, coalesce(b.first, 96) as first
      from m a full join m b on b.event_id = a.event_id and b.day = a.day + 1
    )
    insert into flow_phase_day (phase, day, active_events)
    select p, day, count(*)
    from pairs cross join generate_series(0, 95) p
    where p <= last or p > first
    group by 1, 2
    on conflict (phase, day) do update set active_events = excluded.active_events`.execute(db);
}
