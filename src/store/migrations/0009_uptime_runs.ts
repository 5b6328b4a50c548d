/**
 * Frozen in time: imports nothing from the application.
 *
 * Uptime is kept as runs of minutes with a heartbeat, `[start_minute, end_minute)`, instead of a
 * row per minute: a year of uptime read for a series was half a million rows (hundreds of
 * milliseconds for every daily, revenue or dashboard answer), where runs are one row per stretch
 * between two outages. The minutes stored so far become their runs; `heartbeats` stays as a view
 * of them, for the previous release's readers.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE uptime_runs (
    start_minute bigint PRIMARY KEY,
    end_minute bigint NOT NULL,
    CHECK (end_minute > start_minute)
  )`.execute(db);
  await sql`CREATE INDEX uptime_runs_end ON uptime_runs (end_minute)`.execute(db);
  await sql`
    INSERT INTO uptime_runs (start_minute, end_minute)
    SELECT min(minute), max(minute) + 1
    FROM (SELECT minute, minute - row_number() OVER (ORDER BY minute) AS run FROM heartbeats) m
    GROUP BY run`.execute(db);
  await sql`DROP TABLE heartbeats`.execute(db);
  // For the previous release while a rolling upgrade lasts: its readers count minutes from
  // `heartbeats` (slowly, from here), its heartbeats fail with a warning. A later release drops it.
  await sql`CREATE VIEW heartbeats AS
    SELECT generate_series(start_minute, end_minute - 1) AS minute FROM uptime_runs`.execute(db);
}
