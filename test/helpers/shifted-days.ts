/**
 * An independent check of flow_phase_day (aggregate/phases.ts): every shifted day worked out from
 * scratch, by brute force over the quarter-hour tables, must equal what ingest kept incrementally.
 */
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Db } from '../../src/platform/db.ts';

const ROW = sql.raw(`row(new_bookings, confirmed, cancelled, expired, revenue::numeric(20,4),
  gross_confirmed::numeric(20,4), confirmed_base, new_users, active_events)::text`);

export async function expectShiftedDaysFromBuckets(db: Db): Promise<void> {
  const { rows: kept } = await sql<{ k: string; v: string }>`
    select phase || '|' || day as k, ${ROW} as v from flow_phase_day
    where (new_bookings, confirmed, cancelled, expired, new_users, active_events) <> (0,0,0,0,0,0)
      or revenue <> 0 or gross_confirmed <> 0 or confirmed_base <> 0`.execute(db);
  // Each bucket in its window of every phase; active events straight from flow_bucket_event.
  const { rows: expected } = await sql<{ k: string; v: string }>`
    with windows as (
      select p as phase, floor((bucket - p) / 96.0)::int as day, f.*
      from flow_bucket f cross join generate_series(0, 95) p
    ), flows as (
      select phase, day, sum(new_bookings) as new_bookings, sum(confirmed) as confirmed,
        sum(cancelled) as cancelled, sum(expired) as expired, sum(revenue) as revenue,
        sum(gross_confirmed) as gross_confirmed, sum(confirmed_base) as confirmed_base,
        sum(new_users) as new_users
      from windows group by 1, 2
    ), active as (
      select p as phase, floor((bucket - p) / 96.0)::int as day, count(distinct event_id) as active_events
      from flow_bucket_event cross join generate_series(0, 95) p where transitions > 0 group by 1, 2
    ), joined as (
      select coalesce(f.phase, a.phase) as phase, coalesce(f.day, a.day) as day,
        coalesce(f.new_bookings, 0) as new_bookings, coalesce(f.confirmed, 0) as confirmed,
        coalesce(f.cancelled, 0) as cancelled, coalesce(f.expired, 0) as expired,
        coalesce(f.revenue, 0) as revenue, coalesce(f.gross_confirmed, 0) as gross_confirmed,
        coalesce(f.confirmed_base, 0) as confirmed_base, coalesce(f.new_users, 0) as new_users,
        coalesce(a.active_events, 0) as active_events
      from flows f full join active a on a.phase = f.phase and a.day = f.day
    )
    select phase || '|' || day as k, ${ROW} as v from joined
    where (new_bookings, confirmed, cancelled, expired, new_users, active_events) <> (0,0,0,0,0,0)
      or revenue <> 0 or gross_confirmed <> 0 or confirmed_base <> 0`.execute(db);
  const asMap = (rows: { k: string; v: string }[]) => new Map(rows.map((r) => [r.k, r.v]));
  const actual = asMap(kept);
  const wanted = asMap(expected);
  const differences = [...new Set([...actual.keys(), ...wanted.keys()])]
    .filter((k) => actual.get(k) !== wanted.get(k))
    .slice(0, 10)
    .map((k) => ({ phase_day: k, kept: actual.get(k), from_buckets: wanted.get(k) }));
  expect(differences).toEqual([]);
  expect(actual.size).toBe(wanted.size);
}
