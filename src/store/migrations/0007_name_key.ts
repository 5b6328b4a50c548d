/**
 * Frozen in time: imports nothing from the application.
 *
 * How an event's name sorts and is searched, worked out by the service rather than by the
 * database's collation, so every deployment orders and finds names alike: the name without accents,
 * case folded. Filled here for the events there are; kept by ingest from then on.
 */
import { sql, type Kysely } from 'kysely';

const MARKS = /\p{M}/gu;
const bare = (s: string) => s.normalize('NFKD').replace(MARKS, '');
const nameKey = (name: string) => bare(bare(name).toUpperCase().toLowerCase());

const BATCH = 5_000;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table events add column name_key text not null default ''`.execute(db);
  // Ids as text: any bigint, beyond 2^53 and below zero too.
  for (let after: string | null = null; ;) {
    const { rows } = await sql<{ event_id: string; event_name: string }>`
      select event_id::text as event_id, event_name from events
      where ${after}::bigint is null or event_id > ${after}::bigint
      order by event_id limit ${BATCH}`.execute(db);
    const last = rows.at(-1);
    if (!last) return;
    const keys = rows.map((r) => ({ event_id: r.event_id, name_key: nameKey(r.event_name) }));
    await sql`
      update events e set name_key = x.name_key
      from json_to_recordset(${JSON.stringify(keys)}::json) as x(event_id bigint, name_key text)
      where e.event_id = x.event_id`.execute(db);
    after = last.event_id;
  }
}
