/**
 * Uptime: the minutes in which some instance recorded a heartbeat, kept as runs of minutes
 * `[start_minute, end_minute)`, one row per stretch between two outages.
 */
import { sql } from 'kysely';
import { addDays } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import { firstBucketOf } from './local-days.ts';

/**
 * Minutes with a heartbeat per local day of from..to, counting only minutes before `beforeMinute`
 * (minutes since the epoch): the minute under way is not over, and is not in the elapsed span.
 * Read from the runs of minutes up, one row per stretch between outages whatever the window.
 */
export async function heartbeatMinutes(
  db: Db,
  from: string,
  to: string,
  tz: string,
  beforeMinute: number,
): Promise<Map<string, number>> {
  const minuteOf = (day: string) => firstBucketOf(day, tz, 60);
  const start = minuteOf(from);
  const end = Math.min(minuteOf(addDays(to, 1)), beforeMinute);
  const minutes = new Map<string, number>();
  if (end <= start) return minutes;
  const { rows: runs } = await sql<{ start: number; end: number }>`
    select start_minute::float8 as start, end_minute::float8 as "end" from uptime_runs
    where end_minute > ${start} and start_minute < ${end}
    order by start_minute`.execute(db);
  // Runs are disjoint and in order: each day adds up the runs that overlap it.
  let first = 0;
  for (let day = from, dayStart = start; day <= to;) {
    const next = addDays(day, 1);
    const nextStart = minuteOf(next);
    const dayEnd = Math.min(nextStart, end);
    while ((runs[first]?.end ?? Infinity) <= dayStart) first++;
    let up = 0;
    for (let i = first, run = runs[i]; run !== undefined && run.start < dayEnd; run = runs[++i])
      up += Math.min(run.end, dayEnd) - Math.max(run.start, dayStart);
    if (up > 0) minutes.set(day, up);
    day = next;
    dayStart = nextStart;
  }
  return minutes;
}

/** Serializes heartbeat writes across instances, so runs never overlap (not the writer lock). */
const UPTIME_LOCK = 7_335_002;

/**
 * Records a minute with a heartbeat: nothing when a run holds it already (another instance's
 * heartbeat), else the run ending at it grows by one, else it starts a run of its own; a run
 * starting right after it then joins.
 */
export async function recordHeartbeat(db: Db, minute: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${UPTIME_LOCK})`.execute(trx);
    await sql`
      with held as (
        select 1 from uptime_runs where start_minute <= ${minute} and end_minute > ${minute}
      ), grown as (
        update uptime_runs set end_minute = ${minute + 1}
        where end_minute = ${minute} and not exists (select 1 from held)
        returning 1
      )
      insert into uptime_runs (start_minute, end_minute)
      select ${minute}, ${minute + 1}
      where not exists (select 1 from held) and not exists (select 1 from grown)`.execute(trx);
    // A run that starts right after (a later minute recorded first) joins it: one run per stretch.
    await sql`
      with joined as (
        delete from uptime_runs where start_minute = ${minute + 1}
          and exists (select 1 from uptime_runs where end_minute = ${minute + 1})
        returning end_minute
      )
      update uptime_runs set end_minute = joined.end_minute from joined
      where uptime_runs.end_minute = ${minute + 1}`.execute(trx);
  });
}
