/**
 * The event log: every message received, with its outcome. Its unique index on processed keys
 * guards idempotency; its rejected rows are the dead letters, parked transitions among them.
 */
import { sql } from 'kysely';
import { copyRows, type Db } from '../platform/db.ts';
import { copyInstant, copyLine, json } from './rows.ts';

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

export interface ParkedMessage {
  id: number;
  raw: string;
  transport: string;
  channel: string | null;
  receivedAt: number;
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

/** Messages parked as `unknown_booking` that name one of these bookings. */
export async function loadParked(trx: Db, bookingIds: number[]): Promise<ParkedMessage[]> {
  if (bookingIds.length === 0) return [];
  const { rows } = await sql<ParkedMessage>`
    select id::float8 as id, raw, transport, channel,
      (extract(epoch from received_at) * 1000)::float8 as "receivedAt"
    from event_log
    where outcome = 'rejected' and reason = 'unknown_booking'
      and booking_id in (select (json_array_elements_text(${json(bookingIds)}::json))::bigint)
    order by event_log.id`.execute(trx);
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

const LOG_COLUMNS = [
  'transport',
  'channel',
  'outcome',
  'reason',
  'detail',
  'key',
  'message_type',
  'booking_id',
  'raw',
  'received_at',
] as const;

/**
 * Writes log rows with COPY. A batch writes its messages' rows once their outcomes are settled,
 * having read which keys were processed before (findProcessedKeys): the writer lock it holds keeps
 * any other batch from processing a key in between, and the unique index on processed keys stays
 * as the guard (a row that broke it would fail the batch, never count twice).
 */
export async function writeLog(trx: Db, rows: LogRow[]): Promise<void> {
  let text = '';
  for (const r of rows)
    text += copyLine([
      r.transport,
      r.channel,
      r.outcome,
      r.reason,
      r.detail,
      r.key,
      r.messageType,
      r.bookingId,
      r.raw,
      copyInstant(r.receivedAt),
    ]);
  await copyRows(trx, 'event_log', LOG_COLUMNS, text);
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
  // Ordered by the table's id, not by the float8 output column of the same name: sorting by the cast
  // read and sorted every later row for each page, so a rebuild or reconcile grew with the square of
  // the log; by the column, each page is the next stretch of the primary key.
  const { rows } = await sql<{ id: number; raw: string; received_at: number }>`
    select id::float8 as id, raw, (extract(epoch from received_at) * 1000)::float8 as received_at
    from event_log where outcome = 'processed' and id > ${afterId} order by event_log.id limit ${limit}`.execute(
    trx,
  );
  return rows.map((r) => ({ id: r.id, raw: r.raw, receivedAt: r.received_at }));
}
