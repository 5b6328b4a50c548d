/**
 * One event's flows per local day of a zone other than the one its day table (`flow_day_event`) is
 * kept in, without reading every quarter-hour of the window: at a million bookings an event has a
 * row in nearly every quarter-hour, and a year of them was ~35,000 rows scattered over the heap.
 *
 * A local day [first, end) is C(end) − C(first), where C(b) is what happened before bucket b: the
 * whole days of the day table before b's day, plus the part of b's day before b. That part is read
 * from whichever side of b holds fewer quarter-hours (the day's row less the rest of the day, when
 * the rest is shorter), and each boundary once, however many local days share it. A zone whose
 * midnight is an hour from the day table's reads 4 quarter-hours a day; at worst (12 hours) 48.
 */
import { sql } from 'kysely';
import { addDays } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import { firstBucketOf, periodsOf, spansOf, type Span } from './local-days.ts';
import type { DayFlowRow } from './read.repository.ts';
import { json } from './rows.ts';

/** A sum to read: a day of the day table, or a range of quarter-hours. */
interface Piece {
  id: number;
  day: string | null;
  first: number | null;
  end: number | null;
}

/** A local day adds up pieces, each with a sign. */
interface Term {
  label: string;
  piece: number;
  sign: 1 | -1;
}

/** Zones differ by at most 26 hours: the day table's days from two before to two after cover all. */
const MARGIN_DAYS = 2;

export async function eventDayFlowsElsewhere(
  db: Db,
  eventId: number,
  days: readonly Span[],
  dayZone: string,
): Promise<DayFlowRow[]> {
  const firstDay = days[0];
  const lastDay = days.at(-1);
  if (firstDay === undefined || lastDay === undefined) return [];
  const tableDays = spansOf(
    periodsOf(addDays(firstDay.label, -MARGIN_DAYS), addDays(lastDay.label, MARGIN_DAYS), dayZone),
    firstBucketOf(addDays(lastDay.label, MARGIN_DAYS + 1), dayZone),
  );
  const { pieces, terms } = plan(days, tableDays);
  const { rows } = await sql<DayFlowRow>`
    with piece as materialized (
      select * from json_to_recordset(${json(pieces)}::json) as p(id int, day date, first int, "end" int)
    ), sums as (
      select piece.id, f.new_bookings, f.confirmed, f.cancelled, f.expired, f.confirmed_base, f.revenue,
        f.gross_confirmed
      from piece join flow_day_event f on f.event_id = ${eventId} and f.day = piece.day
      union all
      select piece.id, f.* from piece cross join lateral (
        select coalesce(sum(new_bookings), 0) as new_bookings, coalesce(sum(confirmed), 0) as confirmed,
          coalesce(sum(cancelled), 0) as cancelled, coalesce(sum(expired), 0) as expired,
          coalesce(sum(confirmed_base), 0) as confirmed_base, coalesce(sum(revenue), 0) as revenue,
          coalesce(sum(gross_confirmed), 0) as gross_confirmed
        from flow_bucket_event
        where event_id = ${eventId} and bucket >= piece.first and bucket < piece."end"
      ) f
      where piece.day is null
    )
    select t.label as day, sum(t.sign * s.new_bookings)::int as new_bookings,
      sum(t.sign * s.confirmed)::int as confirmed, sum(t.sign * s.cancelled)::int as cancelled,
      sum(t.sign * s.expired)::int as expired, sum(t.sign * s.confirmed_base)::int as confirmed_base,
      sum(t.sign * s.revenue)::text as revenue, sum(t.sign * s.gross_confirmed)::text as gross_confirmed,
      0 as new_users, 1 as active_events
    from json_to_recordset(${json(terms)}::json) as t(label text, piece int, sign int)
    join sums s on s.id = t.piece
    group by t.label order by t.label`.execute(db);
  return rows;
}

/** The pieces each local day adds up (pure: the boundaries in TypeScript, the sums in SQL). */
export function plan(days: readonly Span[], tableDays: readonly Span[]): { pieces: Piece[]; terms: Term[] } {
  const pieces: Piece[] = [];
  const ids = new Map<string, number>();
  const pieceOf = (key: string, piece: Omit<Piece, 'id'>): number => {
    let id = ids.get(key);
    if (id === undefined) {
      id = pieces.length;
      ids.set(key, id);
      pieces.push({ id, ...piece });
    }
    return id;
  };
  const wholeDay = (d: Span) => pieceOf(`d${d.label}`, { day: d.label, first: null, end: null });
  const range = (first: number, end: number) => pieceOf(`${first}-${end}`, { day: null, first, end });
  const indexOf = (bucket: number): number => {
    const i = tableDays.findIndex((d) => d.first <= bucket && bucket < d.end);
    if (i < 0) throw new Error(`bucket ${bucket} is outside the day table's days read`);
    return i;
  };

  /** The pieces of "what happened in b's day before b", each with its sign. */
  const before = (day: Span, bucket: number): { piece: number; sign: 1 | -1 }[] => {
    if (bucket === day.first) return [];
    if (bucket - day.first <= day.end - bucket) return [{ piece: range(day.first, bucket), sign: 1 }];
    return [
      { piece: wholeDay(day), sign: 1 },
      { piece: range(bucket, day.end), sign: -1 },
    ];
  };

  const terms: Term[] = [];
  let at = indexOf(days[0]?.first ?? 0);
  for (const day of days) {
    const from = at;
    const to = indexOf(day.end);
    const add = (part: { piece: number; sign: 1 | -1 }, sign: 1 | -1) =>
      terms.push({ label: day.label, piece: part.piece, sign: sign === part.sign ? 1 : -1 });
    for (let i = from; i < to; i++) add({ piece: wholeDay(tableDays[i] as Span), sign: 1 }, 1);
    for (const part of before(tableDays[from] as Span, day.first)) add(part, -1);
    for (const part of before(tableDays[to] as Span, day.end)) add(part, 1);
    at = to;
  }
  return { pieces, terms };
}
