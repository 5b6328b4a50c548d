/**
 * Frozen in time: imports nothing from the application.
 *
 * An event's tickets sold and seats held are sums of quantities (each up to 1,000,000), so an
 * `int` overflowed after about 2,148 of the largest bookings of one event; `bigint` holds any sum
 * of accepted quantities.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events alter column tickets_sold type bigint, alter column seats_held type bigint`.execute(
    db,
  );
}
