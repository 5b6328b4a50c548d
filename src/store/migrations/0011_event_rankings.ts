/**
 * Frozen in time: imports nothing from the application.
 *
 * With many events, the short rankings (`/top-events`, `/revenue`, the dashboard) read their first
 * events, and each one's position in the other orders, from indexes in those orders, and
 * `/capacity` its least used events, instead of sorting every live event three times: with 100,000
 * events that took 0.7 s a ranking. The indexes cost the
 * `events` row its in-place (HOT) update when a batch changes its figures; measured in the ingest
 * bench (docs/design.md, Throughput and read latency).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX events_rank_bookings ON events (total_bookings DESC, event_id) WHERE NOT deleted`.execute(
    db,
  );
  await sql`CREATE INDEX events_rank_revenue ON events (total_revenue DESC, event_id) WHERE NOT deleted`.execute(
    db,
  );
  // Ascending, unlike the others: the least used events (`/capacity`) tie by the thousands at 0 %,
  // and read backwards for the ranking, ties at the top are few.
  await sql`CREATE INDEX events_rank_utilization ON events ((100.0 * seats_held / total_capacity), event_id)
    WHERE NOT deleted AND total_capacity > 0`.execute(db);
  // Events without a capacity come last in the utilization order, by id.
  await sql`CREATE INDEX events_rank_no_capacity ON events (event_id) WHERE NOT deleted AND total_capacity <= 0`.execute(
    db,
  );
}
