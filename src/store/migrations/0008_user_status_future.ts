/**
 * Frozen in time: imports nothing from the application.
 *
 * A user's status change is now stored no later than it arrived (a producer's clock running ahead
 * had stamped changes in the future, where they outranked every later change, an admin's
 * included). Changes stored in the future before this release count as made now.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update user_status set changed_at = now() where changed_at > now()`.execute(db);
}
