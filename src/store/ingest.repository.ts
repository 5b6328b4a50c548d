/**
 * The SQL of one ingest transaction. Every write is one multi-row statement fed by a JSON array
 * (json_to_recordset), so a batch costs a fixed number of round trips whatever its size.
 */
import { sql } from 'kysely';
import type { BookingState } from '../aggregate/booking.ts';
import type { CurrencyDelta, EventStatsDelta } from '../aggregate/deltas.ts';
import type { EventMeta } from '../aggregate/events.ts';
import { unitsToDecimal } from '../aggregate/money.ts';
import type { Db } from '../platform/db.ts';

/** Serializes writers across instances: one ingest transaction at a time. */
const WRITER_LOCK = 7_335_001;

/**
 * Rows as one JSON parameter, for json_to_recordset / json_array_elements_text (json, not jsonb:
 * each is read once, so converting it to jsonb first would be wasted work).
 */
export const json = (rows: unknown[]): string => JSON.stringify(rows);
const ms = (value: number | null | undefined): number | null => (value === undefined ? null : value);

export interface LogRow {
  transport: string;
  channel: string | null;
  outcome: string;
  reason: string | null;
  detail: string | null;
  key: string | null;
  messageType: string | null;
  bookingId: number | null;
  raw: string;
  /** When the service first received it (ms since epoch). */
  receivedAt: number;
}

export interface StoredUser {
  bookings: number;
  firstBookingAt: number | undefined;
}

export interface ParkedMessage {
  id: number;
  raw: string;
  transport: string;
  channel: string | null;
  receivedAt: number;
}

export async function lockWriter(trx: Db): Promise<void> {
  await sql`select pg_advisory_xact_lock(${WRITER_LOCK})`.execute(trx);
}

export async function findProcessedKeys(trx: Db, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await sql<{ key: string }>`
    select key from event_log
    where outcome = 'processed' and key in (select json_array_elements_text(${json(keys)}::json))`.execute(
    trx,
  );
  return new Set(rows.map((r) => r.key));
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

/** Messages parked as `unknown_booking` that name one of these bookings. */
export async function loadParked(trx: Db, bookingIds: number[]): Promise<ParkedMessage[]> {
  if (bookingIds.length === 0) return [];
  const { rows } = await sql<ParkedMessage>`
    select id::float8 as id, raw, transport, channel,
      (extract(epoch from received_at) * 1000)::float8 as "receivedAt"
    from event_log
    where outcome = 'rejected' and reason = 'unknown_booking'
      and booking_id in (select (json_array_elements_text(${json(bookingIds)}::json))::bigint)
    order by id`.execute(trx);
  return rows;
}

/** Of these event_log ids, the ones still rejected (a retry of anything else has nothing to do). */
export async function stillRejected(trx: Db, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const { rows } = await sql<{ id: number }>`
    select id::float8 as id from event_log
    where outcome = 'rejected' and id in (select (json_array_elements_text(${json(ids)}::json))::bigint)`.execute(
    trx,
  );
  return new Set(rows.map((r) => r.id));
}

/** Whether this raw message is already kept as a poison message (a re-delivery adds no row). */
export async function isKnownPoison(trx: Db, key: string): Promise<boolean> {
  const { rows } = await sql`
    select 1 from event_log where outcome = 'rejected' and reason = 'processing_error' and key = ${key} limit 1`.execute(
    trx,
  );
  return rows.length > 0;
}

export async function loadUsers(trx: Db, ids: number[]): Promise<Map<number, StoredUser>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ user_id: number; bookings: number; first: number | null }>`
    select user_id::float8 as user_id, bookings, (extract(epoch from first_booking_at) * 1000)::float8 as first
    from users where user_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)`.execute(trx);
  return new Map(
    rows.map((r) => [r.user_id, { bookings: r.bookings, firstBookingAt: r.first ?? undefined }]),
  );
}

/** Earliest booking creation per user, from the bookings as now written. */
export async function recomputeUserFirstBooking(trx: Db, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<{ user_id: number; first: number }>`
    select user_id::float8 as user_id, (extract(epoch from min(created_at)) * 1000)::float8 as first
    from bookings where user_id in (select (json_array_elements_text(${json(ids)}::json))::bigint)
      and created_at is not null
    group by user_id`.execute(trx);
  return new Map(rows.map((r) => [r.user_id, r.first]));
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
 * Writes the log rows of new messages as processed, except those whose key was processed before
 * (the unique index skips them). Returns key → row id of the rows written.
 */
export async function claimKeys(trx: Db, rows: LogRow[]): Promise<Map<string, number>> {
  if (rows.length === 0) return new Map();
  const { rows: written } = await sql<{ id: number; key: string }>`
    ${insertLogRows(rows)}
    on conflict (key) where outcome = 'processed' do nothing
    returning id::float8 as id, key`.execute(trx);
  return new Map(written.map((r) => [r.key, r.id]));
}

/** Log rows written as processed that turned out to be rejected (parked transitions). */
export async function markRejected(
  trx: Db,
  rows: { id: number; reason: string | null; detail: string | null }[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    update event_log e set outcome = 'rejected', reason = x.reason, detail = x.detail, key = null
    from json_to_recordset(${json(rows)}::json) as x(id bigint, reason text, detail text)
    where e.id = x.id`.execute(trx);
}

/** The insert of log rows, fed by one JSON parameter; claimKeys adds its conflict clause. */
function insertLogRows(rows: LogRow[]) {
  return sql`
    insert into event_log (transport, channel, outcome, reason, detail, key, message_type, booking_id, raw, received_at)
    select transport, channel, outcome, reason, detail, key, message_type, booking_id, raw,
      to_timestamp(received_at / 1000.0)
    from json_to_recordset(${json(rows.map(logPayload))}::json) as x(transport text, channel text, outcome text,
      reason text, detail text, key text, message_type text, booking_id bigint, raw text, received_at float8)`;
}

function logPayload(r: LogRow): Record<string, unknown> {
  return {
    transport: r.transport,
    channel: r.channel,
    outcome: r.outcome,
    reason: r.reason,
    detail: r.detail,
    key: r.key,
    message_type: r.messageType,
    booking_id: r.bookingId,
    raw: r.raw,
    received_at: r.receivedAt,
  };
}

export async function insertLog(trx: Db, rows: LogRow[]): Promise<void> {
  if (rows.length === 0) return;
  await insertLogRows(rows).execute(trx);
}

/** A retried dead letter keeps its row; only its outcome changes. */
export async function updateLogOutcomes(
  trx: Db,
  rows: { id: number; outcome: string; reason: string | null; key: string | null }[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    update event_log e set outcome = x.outcome, reason = x.reason, key = coalesce(x.key, e.key), retried_at = now()
    from json_to_recordset(${json(rows)}::json) as x(id bigint, outcome text, reason text, key text)
    where e.id = x.id and e.outcome = 'rejected'`.execute(trx);
}

export async function upsertBookings(
  trx: Db,
  rows: {
    id: number;
    state: BookingState;
    eventId: number;
    userId: number | undefined;
    createdAt: number | undefined;
  }[],
): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => ({
    booking_id: r.id,
    state: r.state,
    event_id: r.eventId,
    user_id: r.userId ?? null,
    created_at: ms(r.createdAt),
  }));
  await sql`
    insert into bookings (booking_id, state, event_id, user_id, created_at)
    select booking_id, state, event_id, user_id, to_timestamp(created_at / 1000.0)
    from json_to_recordset(${json(payload)}::json)
      as x(booking_id bigint, state json, event_id bigint, user_id bigint, created_at float8)
    on conflict (booking_id) do update set state = excluded.state, event_id = excluded.event_id,
      user_id = excluded.user_id, created_at = excluded.created_at`.execute(trx);
}

export async function upsertEventMeta(trx: Db, events: Map<number, EventMeta>): Promise<void> {
  if (events.size === 0) return;
  const payload = [...events].map(([id, e]) => ({
    event_id: id,
    event_name: e.name,
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
    insert into events (event_id, event_name, category, total_capacity, price, status, event_date, created_at,
      meta_time, meta_field_times, deleted)
    select event_id, event_name, category, total_capacity, price, status, to_timestamp(event_date / 1000.0),
      to_timestamp(created_at / 1000.0), to_timestamp(meta_time / 1000.0), meta_field_times, deleted
    from json_to_recordset(${json(payload)}::json) as x(event_id bigint, event_name text, category text,
      total_capacity int, price numeric, status text, event_date float8, created_at float8, meta_time float8,
      meta_field_times jsonb, deleted boolean)
    on conflict (event_id) do update set event_name = excluded.event_name, category = excluded.category,
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
      confirmed int, cancelled int, expired int, tickets int, held int, revenue numeric, confirmed_base int,
      min float8, max float8)
    where e.event_id = x.event_id`.execute(trx);
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
    .filter(([, d]) => d.confirmed !== 0 || d.amount !== 0)
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

export async function upsertUsers(
  trx: Db,
  rows: { id: number; bookings: number; firstBookingAt: number | undefined }[],
): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => ({ user_id: r.id, bookings: r.bookings, first: ms(r.firstBookingAt) }));
  await sql`
    insert into users (user_id, bookings, first_booking_at)
    select user_id, bookings, to_timestamp(first / 1000.0)
    from json_to_recordset(${json(payload)}::json) as x(user_id bigint, bookings int, first float8)
    on conflict (user_id) do update set bookings = excluded.bookings,
      first_booking_at = excluded.first_booking_at`.execute(trx);
}

/** Applies user status changes that are newer than what is stored (order of arrival does not matter). */
export async function applyUserStatus(
  trx: Db,
  status: Map<number, { disabled: boolean; time: number }>,
): Promise<void> {
  if (status.size === 0) return;
  const rows = [...status].map(([id, s]) => ({ user_id: id, disabled: s.disabled, time: s.time }));
  await setUserStatus(trx, rows);
}

export async function isDisabled(db: Db, userId: number): Promise<boolean> {
  const { rows } = await sql<{
    disabled: boolean;
  }>`select disabled from user_status where user_id = ${userId}`.execute(db);
  return rows[0]?.disabled ?? false;
}

export async function setUserStatus(
  db: Db,
  rows: { user_id: number; disabled: boolean; time: number }[],
): Promise<number> {
  const result = await sql`
    insert into user_status (user_id, disabled, changed_at)
    select user_id, disabled, to_timestamp(time / 1000.0)
    from json_to_recordset(${json(rows)}::json) as x(user_id bigint, disabled boolean, time float8)
    on conflict (user_id) do update set disabled = excluded.disabled, changed_at = excluded.changed_at
      where excluded.changed_at >= user_status.changed_at`.execute(db);
  return Number(result.numAffectedRows ?? 0);
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
  d: { bookings: number; revenue: number; users: number },
): Promise<void> {
  if (d.bookings === 0 && d.revenue === 0 && d.users === 0) return;
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

export interface LoggedMessage {
  id: number;
  raw: string;
  receivedAt: number;
}

/** Processed messages in the order they were logged, after `afterId`: what a rebuild replays. */
export async function processedMessagesAfter(
  trx: Db,
  afterId: number,
  limit: number,
): Promise<LoggedMessage[]> {
  const { rows } = await sql<{ id: number; raw: string; received_at: number }>`
    select id::float8 as id, raw, (extract(epoch from received_at) * 1000)::float8 as received_at
    from event_log where outcome = 'processed' and id > ${afterId} order by id limit ${limit}`.execute(trx);
  return rows.map((r) => ({ id: r.id, raw: r.raw, receivedAt: r.received_at }));
}

export async function bumpDataVersion(trx: Db): Promise<number> {
  const { rows } = await sql<{ v: number }>`
    update totals set data_version = data_version + 1 where id = 1 returning data_version::float8 as v`.execute(
    trx,
  );
  return rows[0]?.v ?? 0;
}
