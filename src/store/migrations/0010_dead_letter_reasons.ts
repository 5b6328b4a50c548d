/**
 * Frozen in time: imports nothing from the application.
 *
 * The dead-letter list filtered by reason reads its page from an index of rejected messages by
 * reason, instead of every rejected message's row.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX event_log_rejected_reason ON event_log (reason, id) WHERE outcome = 'rejected'`.execute(
    db,
  );
}
