/**
 * The SQL of one ingest transaction. Every write is one multi-row statement fed by a JSON array
 * (json_to_recordset), so a batch costs a fixed number of round trips whatever its size. The event
 * log's and the users' statements are in their own repositories.
 */
import { sql } from 'kysely';
import type { BookingState } from '../aggregate/booking.ts';
import type { CurrencyDelta, EventStatsDelta } from '../aggregate/deltas.ts';
import { nameKey, type EventMeta } from '../aggregate/events.ts';
import { unitsToDecimal } from '../aggregate/money.ts';
import { allStatements, copyRows, type Db } from '../platform/db.ts';
import { copyInstant, copyLine, json, ms } from './rows.ts';

/** Serializes writers across instances: one ingest transaction at a time. */
const WRITER_LOCK = 7_335_001;

/**
 * Takes the writer lock for the rest of the transaction, waiting as long as it takes (a rebuild
 * holds it for minutes). The transaction runs without the database's or role's statement_timeout
 * and lock_timeout: a batch cancelled by a timeout would only be retried, and its wait would start
 * over. The price: a writer statement that hangs (a broken plan, a lock held elsewhere on a table)
 * hangs with the writer lock; `pg_cancel_backend` ends it, and its batch is retried.
 */
export async function lockWriter(trx: Db, lockTimeoutMs = 0): Promise<void> {
  await sql`select set_config('statement_timeout', '0', true),
    set_config('lock_timeout', ${String(lockTimeoutMs)}, true)`.execute(trx);
  await sql`select pg_advisory_xact_lock(${WRITER_LOCK})`.execute(trx);
  // The bound was on the wait for the writer: what the writer then does waits as long as it takes.
  if (lockTimeoutMs > 0) await sql`select set_config('lock_timeout', '0', true)`.execute(trx);
}

export async function loadBookings(trx: Db, ids: number[]): Promise<Map<number, BookingState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ booking_id: number; state: BookingState | string }>`
    select booking_id::float8 as booking_id, state from bookings
    where booking_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)`.execute(trx);
  return new Map(
    rows.map((r) => [
      r.booking_id,
      typeof r.state === 'string' ? (JSON.parse(r.state) as BookingState) : r.state,
    ]),
  );
}

export async function loadEvents(trx: Db, ids: number[]): Promise<Map<number, EventMeta>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{
    event_id: number;
    event_name: string;
    category: string | null;
    total_capacity: number;
    price: number | null;
    status: string | null;
    event_date: number | null;
    created_at: number | null;
    meta_time: number | null;
    meta_field_times: Record<string, number> | string;
    deleted: boolean;
  }>`
    select event_id::float8 as event_id, event_name, category, total_capacity, price::float8 as price, status,
      (extract(epoch from event_date) * 1000)::float8 as event_date,
      (extract(epoch from created_at) * 1000)::float8 as created_at,
      (extract(epoch from meta_time) * 1000)::float8 as meta_time, meta_field_times, deleted
    from events where event_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)`.execute(
    trx,
  );
  return new Map(
    rows.map((r) => [
      r.event_id,
      {
        name: r.event_name,
        category: r.category,
        capacity: r.total_capacity,
        price: r.price,
        status: r.status,
        eventDate: r.event_date,
        createdAt: r.created_at,
        metaTime: r.meta_time,
        fieldTimes: (typeof r.meta_field_times === 'string'
          ? JSON.parse(r.meta_field_times)
          : r.meta_field_times) as EventMeta['fieldTimes'],
        deleted: r.deleted,
      },
    ]),
  );
}

export async function loadDayEventTransitions(trx: Db, keys: string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const pairs = keys.map((k) => {
    const [day, eventId] = k.split('|');
    return { day, event_id: Number(eventId) };
  });
  const { rows } = await sql<{ day: string; event_id: number; transitions: number }>`
    select f.day::text as day, f.event_id::float8 as event_id, f.transitions
    from flow_day_event f
    join json_to_recordset(${json(pairs)}::json) as k(day date, event_id bigint)
      on f.day = k.day and f.event_id = k.event_id`.execute(trx);
  return new Map(rows.map((r) => [`${r.day}|${r.event_id}`, r.transitions]));
}

/**
 * Writes bookings' rows: those not stored yet with COPY, the others updated. `stored` says which
 * are: the batch read them in this transaction, under the writer lock, so no other writer can have
 * added one since.
 */
export async function writeBookings(
  trx: Db,
  rows: {
    id: number;
    state: BookingState;
    /** Null while the booking lacks its facts (uncounted). */
    eventId: number | null;
    userId: number | undefined;
    createdAt: number | undefined;
  }[],
  stored: { has(id: number): boolean },
): Promise<void> {
  let added = '';
  const changed = [];
  for (const r of rows) {
    if (stored.has(r.id)) {
      changed.push({
        booking_id: r.id,
        state: r.state,
        event_id: r.eventId,
        user_id: r.userId ?? null,
        created_at: ms(r.createdAt),
      });
    } else {
      added += copyLine([
        r.id,
        json(r.state),
        r.eventId,
        r.userId ?? null,
        r.createdAt === undefined ? null : copyInstant(r.createdAt),
      ]);
    }
  }
  const copying = copyRows(
    trx,
    'bookings',
    ['booking_id', 'state', 'event_id', 'user_id', 'created_at'],
    added,
  );
  const updating =
    changed.length === 0
      ? Promise.resolve()
      : sql`
    update bookings b set state = x.state, event_id = x.event_id, user_id = x.user_id,
      created_at = to_timestamp(x.created_at / 1000.0)
    from json_to_recordset(${json(changed)}::json)
      as x(booking_id bigint, state json, event_id bigint, user_id bigint, created_at float8)
    where b.booking_id = x.booking_id`
          .execute(trx)
          .then(() => undefined);
  await allStatements([copying, updating]);
}

export async function upsertEventMeta(trx: Db, events: Map<number, EventMeta>): Promise<void> {
  if (events.size === 0) return;
  const payload = [...events].map(([id, e]) => ({
    event_id: id,
    event_name: e.name,
    name_key: nameKey(e.name),
    category: e.category,
    total_capacity: e.capacity,
    price: e.price,
    status: e.status,
    event_date: e.eventDate,
    created_at: e.createdAt,
    meta_time: e.metaTime,
    meta_field_times: e.fieldTimes,
    deleted: e.deleted,
  }));
  await sql`
    insert into events (event_id, event_name, name_key, category, total_capacity, price, status, event_date,
      created_at, meta_time, meta_field_times, deleted)
    select event_id, event_name, name_key, category, total_capacity, price, status, to_timestamp(event_date / 1000.0),
      to_timestamp(created_at / 1000.0), to_timestamp(meta_time / 1000.0), meta_field_times, deleted
    from json_to_recordset(${json(payload)}::json) as x(event_id bigint, event_name text, name_key text, category text,
      total_capacity int, price numeric, status text, event_date float8, created_at float8, meta_time float8,
      meta_field_times jsonb, deleted boolean)
    on conflict (event_id) do update set event_name = excluded.event_name, name_key = excluded.name_key,
      category = excluded.category,
      total_capacity = excluded.total_capacity, price = excluded.price, status = excluded.status,
      event_date = excluded.event_date, created_at = excluded.created_at, meta_time = excluded.meta_time,
      meta_field_times = excluded.meta_field_times, deleted = excluded.deleted`.execute(trx);
}

/**
 * One update per batch for every touched event: counter deltas, and the earliest/latest booking
 * creation widened (an event whose range must be recomputed gets that separately).
 */
export async function applyEventChanges(
  trx: Db,
  deltas: [number, EventStatsDelta][],
  times: ReadonlyMap<number, { min: number; max: number } | 'recompute'>,
): Promise<void> {
  const rows = new Map<number, Record<string, unknown>>();
  const zero = {
    total: 0,
    pending: 0,
    confirmed: 0,
    cancelled: 0,
    expired: 0,
    tickets: 0,
    held: 0,
    revenue: '0',
    confirmed_base: 0,
  };
  for (const [id, d] of deltas) {
    rows.set(id, {
      event_id: id,
      total: d.total,
      pending: d.pending,
      confirmed: d.confirmed,
      cancelled: d.cancelled,
      expired: d.expired,
      tickets: d.ticketsSold,
      held: d.seatsHeld,
      revenue: unitsToDecimal(d.revenue),
      confirmed_base: d.confirmedBase,
      min: null,
      max: null,
    });
  }
  for (const [id, range] of times) {
    if (range === 'recompute') continue;
    const row = rows.get(id) ?? { event_id: id, ...zero };
    row.min = range.min;
    row.max = range.max;
    rows.set(id, row);
  }
  if (rows.size === 0) return;
  await sql`
    update events e set
      total_bookings = e.total_bookings + x.total,
      pending_bookings = e.pending_bookings + x.pending,
      confirmed_bookings = e.confirmed_bookings + x.confirmed,
      cancelled_bookings = e.cancelled_bookings + x.cancelled,
      expired_bookings = e.expired_bookings + x.expired,
      tickets_sold = e.tickets_sold + x.tickets,
      seats_held = e.seats_held + x.held,
      total_revenue = e.total_revenue + x.revenue,
      confirmed_base = e.confirmed_base + x.confirmed_base,
      first_booking = case when x.min is null then e.first_booking
        else least(e.first_booking, to_timestamp(x.min / 1000.0)) end,
      last_booking = case when x.max is null then e.last_booking
        else greatest(e.last_booking, to_timestamp(x.max / 1000.0)) end
    from json_to_recordset(${json([...rows.values()])}::json) as x(event_id bigint, total int, pending int,
      confirmed int, cancelled int, expired int, tickets bigint, held bigint, revenue numeric, confirmed_base int,
      min float8, max float8)
    where e.event_id = x.event_id`.execute(trx);
}

/**
 * Removes the placeholders among these events that no booking names any more (their bookings moved
 * to another event): an event nobody announced exists only while a booking names it.
 */
export async function dropVacatedPlaceholders(trx: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    delete from events
    where event_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)
      and meta_time is null and not deleted and total_bookings = 0`.execute(trx);
}

export async function recomputeEventBookingTimes(trx: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    update events e set first_booking = t.first, last_booking = t.last
    from (
      select k.id, min(b.created_at) as first, max(b.created_at) as last
      from (select (json_array_elements_text(${json(ids)}::json))::bigint as id) k
      left join bookings b on b.event_id = k.id
      group by k.id
    ) t
    where e.event_id = t.id`.execute(trx);
}

export async function applyCurrencyRevenue(trx: Db, deltas: [string, CurrencyDelta][]): Promise<void> {
  const payload = deltas
    .filter(([, d]) => d.confirmed !== 0 || d.amount !== 0n)
    .map(([key, d]) => {
      const [eventId, currency] = key.split('|');
      return {
        event_id: Number(eventId),
        currency,
        confirmed: d.confirmed,
        amount: unitsToDecimal(d.amount),
      };
    });
  if (payload.length === 0) return;
  await sql`
    insert into event_currency_revenue (event_id, currency, confirmed, amount)
    select event_id, currency, confirmed, amount
    from json_to_recordset(${json(payload)}::json) as x(event_id bigint, currency text, confirmed int, amount numeric)
    on conflict (event_id, currency) do update set confirmed = event_currency_revenue.confirmed + excluded.confirmed,
      amount = event_currency_revenue.amount + excluded.amount`.execute(trx);
}

export interface OutcomeCounters {
  processed: number;
  duplicates: number;
  ignored: number;
  rejected: number;
  bumpVersion: boolean;
}

export async function applyAggregateTotals(
  trx: Db,
  d: { bookings: number; revenue: bigint; users: number },
): Promise<void> {
  if (d.bookings === 0 && d.revenue === 0n && d.users === 0) return;
  await sql`
    update totals set bookings = bookings + ${d.bookings}, revenue = revenue + ${unitsToDecimal(d.revenue)}::numeric,
      users = users + ${d.users}
    where id = 1`.execute(trx);
}

/** Counts outcomes, bumps the data version when figures changed, and returns the version. */
export async function applyCounters(trx: Db, d: OutcomeCounters): Promise<number> {
  const { rows } = await sql<{ data_version: number }>`
    update totals set
      processed = processed + ${d.processed},
      duplicates = duplicates + ${d.duplicates},
      ignored = ignored + ${d.ignored},
      rejected = rejected + ${d.rejected},
      data_version = data_version + ${d.bumpVersion ? 1 : 0}
    where id = 1
    returning data_version::float8 as data_version`.execute(trx);
  return rows[0]?.data_version ?? 0;
}

export async function bumpDataVersion(trx: Db): Promise<number> {
  const { rows } = await sql<{ v: number }>`
    update totals set data_version = data_version + 1 where id = 1 returning data_version::float8 as v`.execute(
    trx,
  );
  return rows[0]?.v ?? 0;
}
