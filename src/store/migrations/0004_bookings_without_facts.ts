/**
 * Frozen in time: imports nothing from the application.
 *
 * A booking can lose its facts: a message without event, quantity or amount takes a transition's
 * slot from one that carried them (the earlier time wins). Its state must still be kept, uncounted,
 * so that the message bringing the facts back finds it: such a row has no event yet.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table bookings alter column event_id drop not null`.execute(db);
}
