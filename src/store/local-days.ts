/**
 * Which local day (or week, or month) a UTC quarter-hour bucket belongs to, in SQL, with the day
 * boundaries worked out in TypeScript (ICU, as at ingest) and handed to PostgreSQL as sorted
 * arrays: `width_bucket` finds each bucket's day among them.
 *
 * PostgreSQL's own `at time zone` is not used for this. Its zone rules are those of the server's
 * (or PGlite's) tzdata, which can differ from Node's: PGlite 0.5 still had America/Vancouver on
 * summer time after November 2026, so a booking landed on a different day live (ICU) than after a
 * rebuild (PostgreSQL). And it reads some names as abbreviations with a fixed offset (`CET`, `IST`)
 * where ICU reads the zone. One source of zone rules keeps every figure on the same day.
 */
import { sql, type RawBuilder } from 'kysely';
import { phaseAndDay } from '../aggregate/phases.ts';
import { addDays, BUCKET_MS, BUCKETS_PER_DAY, localMidnightUtc } from '../aggregate/time.ts';

/** Seconds in a flow bucket (a UTC quarter-hour); heartbeats are kept per minute (60). */
const BUCKET_SECONDS = BUCKET_MS / 1000;

/**
 * The first bucket (of `unit` seconds) of a local day: the first whose start lies in the day. Every
 * offset in use since 1979 is a multiple of 15 minutes, so a day starts on a bucket boundary; before
 * that, a bucket that straddles midnight belongs to the day its start lies in, as at ingest.
 */
export function firstBucketOf(date: string, tz: string, unit = BUCKET_SECONDS): number {
  return Math.ceil(localMidnightUtc(date, tz) / 1000 / unit);
}

export interface Period {
  /** The label: a day, or the first day of a week or month. */
  label: string;
  /** The first bucket of the period (or of the part of it in range). */
  first: number;
}

/**
 * Periods of [from, to] in a zone, one per distinct `labelOf(day)` (days by default), in order,
 * with the first bucket of `unit` seconds of each.
 */
export function periodsOf(
  from: string,
  to: string,
  tz: string,
  { labelOf = (day: string) => day, unit = BUCKET_SECONDS } = {},
): Period[] {
  const periods: Period[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) {
    const label = labelOf(day);
    const last = periods.at(-1);
    if (last?.label === label) continue;
    const first = firstBucketOf(day, tz, unit);
    // A day the zone skipped (Pacific/Apia went from 29 to 31 December 2011) has no bucket of its
    // own: it starts where the next day does, and would take the buckets of the day before.
    if (last !== undefined && first <= last.first) continue;
    periods.push({ label, first });
  }
  return periods;
}

/** A period with the bucket it ends before (the next period's first, or the range's end). */
export interface Span extends Period {
  end: number;
}

export function spansOf(periods: readonly Period[], end: number): Span[] {
  return periods.map((p, i) => ({ ...p, end: periods[i + 1]?.first ?? end }));
}

/**
 * SQL for the label (as `date`) of the period a bucket column belongs to; null before the first.
 * The periods must be in order; a bucket at or after the last one's start gets the last label, so
 * the query must bound its buckets itself.
 */
export function periodOfBucket(column: RawBuilder<unknown>, periods: readonly Period[]): RawBuilder<string> {
  const labels = `{${periods.map((p) => p.label).join(',')}}`;
  const firsts = `{${periods.map((p) => p.first).join(',')}}`;
  return sql<string>`((${labels}::date[])[width_bucket(${column}::bigint, ${firsts}::bigint[])])`;
}

/** Quarter-hours in a UTC day: the bits of a flow_mask_event row. */
const QUARTERS = BUCKETS_PER_DAY;

/** The UTC day (days since 1970-01-01) and quarter-hour of that day of a bucket. */
export function utcDayAndQuarter(bucket: number): { day: number; quarter: number } {
  // The shifted day a bucket starts (aggregate/phases.ts): its UTC day and its phase, the quarter.
  const { day, phase } = phaseAndDay(bucket);
  return { day, quarter: phase };
}

/** A bit(96) literal with these quarters set (bit 1, the leftmost, is quarter 0). */
export function quarterMask(quarters: Iterable<number>): string {
  const bits = new Array<string>(QUARTERS).fill('0');
  for (const q of quarters) bits[q] = '1';
  return bits.join('');
}

/**
 * The UTC days a range of buckets [first, end) covers, each with the quarters of it in range
 * (null: the whole day).
 */
export function utcDaysOf(first: number, end: number): { day: number; mask: string | null }[] {
  const out: { day: number; mask: string | null }[] = [];
  if (end <= first) return out;
  const last = utcDayAndQuarter(end - 1);
  for (let { day, quarter } = utcDayAndQuarter(first); day <= last.day; day++, quarter = 0) {
    const upTo = day === last.day ? last.quarter : QUARTERS - 1;
    if (quarter === 0 && upTo === QUARTERS - 1) out.push({ day, mask: null });
    else
      out.push({ day, mask: quarterMask(Array.from({ length: upTo - quarter + 1 }, (_, i) => quarter + i)) });
  }
  return out;
}
