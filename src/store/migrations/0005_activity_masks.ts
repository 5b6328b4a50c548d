/**
 * Frozen in time: imports nothing from the application.
 *
 * Which quarter-hours of each UTC day had a booking transition of each event, as 96 bits: how many
 * distinct events were active in a local day (or week, or month) of any zone is then read from one
 * row per event and UTC day, instead of one row per event and quarter-hour (flow_bucket_event),
 * which grows with the bookings. Filled from flow_bucket_event here; kept by ingest from then on.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table flow_mask_event (
      day int not null,
      event_id bigint not null,
      quarters bit(96) not null,
      primary key (day, event_id)
    )`.execute(db);
  // floor division: buckets before 1970 are negative.
  await sql`
    insert into flow_mask_event (day, event_id, quarters)
    select floor(bucket / 96.0)::int, event_id,
      bit_or(set_bit(repeat('0', 96)::bit(96), ((bucket % 96) + 96) % 96, 1))
    from flow_bucket_event where transitions > 0 group by 1, 2`.execute(db);
}
