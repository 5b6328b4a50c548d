/**
 * Raw message text → a normalized message, an "ignored" verdict or a rejection with the spec's
 * reason (shared/spec/events.md §2–4). Pure: no IO, no clock except the `receivedAt` passed in.
 */
import { createHash } from 'node:crypto';
import { parseTimestamp } from '../aggregate/time.ts';
import type {
  BookingMessage,
  EventDeletedMessage,
  EventMetaMessage,
  NormalizedMessage,
  Transition,
  UserStatusMessage,
} from '../aggregate/messages.ts';
import { toMoneyUnits } from '../aggregate/money.ts';
import { storableText } from '../store/rows.ts';

export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Bounds past which a value cannot be a real booking (and would overflow exact storage). */
export const MAX_AMOUNT = 1e11;
export const MAX_QUANTITY = 1_000_000;
export const MAX_CAPACITY = 2_147_483_647;

export const REJECT_REASONS = [
  'too_large',
  'invalid_json',
  'not_object',
  'missing_type',
  'unknown_type',
  'missing_booking_id',
  'missing_event_id',
  // A UserDeactivated / UserReactivated without a user_id (messages the spec's list predates).
  'missing_user_id',
  'invalid_quantity',
  'invalid_amount',
  'invalid_capacity',
  'invalid_timestamp',
  'unknown_booking',
  // Valid on its face, but processing it failed (a bug or a data conflict): kept for a retry.
  'processing_error',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type ParseResult =
  | { outcome: 'valid'; message: NormalizedMessage }
  | { outcome: 'ignored'; type: string }
  | { outcome: 'rejected'; reason: RejectReason; detail: string };

type Json = Record<string, unknown>;

const BOOKING_TYPES: Record<string, Transition> = {
  BookingCreated: 'created',
  BookingConfirmed: 'confirmed',
  BookingCancelled: 'cancelled',
  BookingExpired: 'expired',
};
const EVENT_TYPES = new Set(['EventCreated', 'EventUpdated', 'EventDeleted']);
const USER_TYPES = new Set(['UserDeactivated', 'UserReactivated']);
const IGNORED_TYPES = new Set([
  'BookingPaymentCompleted',
  'WaitlistJoined',
  'WaitlistCancelled',
  'WaitlistNotificationsSent',
  'WaitlistAvailabilityUpdated',
]);
const CLOUD_EVENT_TYPES: Record<string, string> = {
  'evently.event.created': 'EventCreated',
  'evently.event.updated': 'EventUpdated',
  'evently.event.deleted': 'EventDeleted',
  'evently.booking.created': 'BookingCreated',
  'evently.booking.confirmed': 'BookingConfirmed',
  'evently.booking.cancelled': 'BookingCancelled',
  'evently.booking.expired': 'BookingExpired',
  'evently.booking.payment_completed': 'BookingPaymentCompleted',
  'evently.waitlist.joined': 'WaitlistJoined',
  'evently.waitlist.cancelled': 'WaitlistCancelled',
  'evently.waitlist.notifications_sent': 'WaitlistNotificationsSent',
  'evently.waitlist.availability_updated': 'WaitlistAvailabilityUpdated',
  // The same four under the names of their pub/sub channels (evently:bookings:waitlist_*).
  'evently.booking.waitlist_joined': 'WaitlistJoined',
  'evently.booking.waitlist_cancelled': 'WaitlistCancelled',
  'evently.booking.waitlist_notifications_sent': 'WaitlistNotificationsSent',
  'evently.booking.waitlist_availability_updated': 'WaitlistAvailabilityUpdated',
  'evently.user.deactivated': 'UserDeactivated',
  'evently.user.reactivated': 'UserReactivated',
};
const OCCURRENCE_FIELD: Record<string, string> = {
  EventCreated: 'created_at',
  EventUpdated: 'updated_at',
  BookingCreated: 'created_at',
  BookingConfirmed: 'confirmed_at',
  BookingCancelled: 'cancelled_at',
  BookingExpired: 'expired_at',
};

class Rejection extends Error {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const reject = (reason: RejectReason, detail: string): never => {
  throw new Rejection(reason, detail);
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A positive integer id, given as a JSON number or a string of digits. */
function asId(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * A metadata field an update may clear, read as `field` reads it (the data object, else the top
 * level): `read`'s value when one is given, `null` when it is sent only as null (cleared), undefined
 * when the message does not carry it (or `read` cannot use its value), so the event keeps its own.
 */
function clearable<T>(env: Envelope, name: string, read: (value: unknown) => T | null): T | null | undefined {
  const value = field(env, name);
  if (present(value)) return read(value) ?? undefined;
  return env.data[name] === null || env.top[name] === null ? null : undefined;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
}

/** Deeper than this, a message is refused rather than walked (no producer nests this far). */
export const MAX_NESTING = 64;

/** Canonical JSON (sorted keys) for the content-hash idempotency key. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_NESTING) reject('invalid_json', `message nests deeper than ${MAX_NESTING} levels`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function timestampField(source: Json, field: string): number | undefined {
  return timestampValue(source[field], field);
}

function timestampValue(raw: unknown, field: string): number | undefined {
  if (!present(raw)) return undefined;
  const parsed = typeof raw === 'string' ? parseTimestamp(raw) : undefined;
  return parsed ?? reject('invalid_timestamp', `${field} is not an ISO 8601 timestamp`);
}

interface Envelope {
  type: string;
  data: Json;
  top: Json;
  explicitKey: string | undefined;
  /** The explicit key is the top-level `id` (Evently format), which flat events also use as their id. */
  keyIsTopId: boolean;
  /** The envelope's own time (`time`, `timestamp`, `occurred_at`). */
  fallbackTime: number | undefined;
}

/**
 * An envelope before its payload and time are read: its type decides whether they are read at all
 * (an ignored type is ignored whatever they hold).
 */
interface EnvelopeHead extends Omit<Envelope, 'fallbackTime' | 'data'> {
  /** Where the payload object may be, in order of preference. */
  dataFrom: { source: Json; fields: readonly string[] };
  /** Where the envelope's own time is, in order of preference. */
  timeFrom: { source: Json; fields: readonly string[] };
}

/**
 * The payload fields of the Evently format: the type's own, else `data`. A booking message that
 * also carries its event's details under `event_data` is read from its `booking_data` alone.
 */
const BOOKING_PAYLOAD = ['booking_data', 'data'] as const;
const OTHER_PAYLOAD = ['event_data', 'data'] as const;

/**
 * A key as PostgreSQL can store it: U+0000 and lone surrogates become U+FFFD, as in every stored
 * text (store/rows.ts). Done here, not only when written, so that the key a batch holds is the key
 * its log row holds.
 */
function storableKey<T extends string | undefined>(key: T): T {
  return (key === undefined ? key : storableText(key)) as T;
}

function readEnvelope(top: Json): EnvelopeHead {
  if (present(top.specversion)) {
    const ceType = top.type;
    if (typeof ceType !== 'string' || ceType === '') return reject('missing_type', 'CloudEvent has no type');
    const type =
      (Object.hasOwn(CLOUD_EVENT_TYPES, ceType) ? CLOUD_EVENT_TYPES[ceType] : undefined) ??
      reject('unknown_type', `unknown CloudEvents type "${ceType}"`);
    const explicitKey = typeof top.id === 'string' && top.id !== '' ? storableKey(top.id) : undefined;
    return {
      type,
      dataFrom: { source: top, fields: ['data'] },
      top: {},
      explicitKey,
      keyIsTopId: false,
      timeFrom: { source: top, fields: ['time'] },
    };
  }
  const type = top.type;
  if (typeof type !== 'string' || type === '') return reject('missing_type', 'message has no type');
  const messageId = typeof top.message_id === 'string' && top.message_id !== '' ? top.message_id : undefined;
  const topId = typeof top.id === 'string' && top.id !== '' ? top.id : undefined;
  return {
    type,
    dataFrom: { source: top, fields: Object.hasOwn(BOOKING_TYPES, type) ? BOOKING_PAYLOAD : OTHER_PAYLOAD },
    top,
    explicitKey: storableKey(messageId ?? topId),
    keyIsTopId: messageId === undefined && topId !== undefined,
    timeFrom: { source: top, fields: ['timestamp', 'occurred_at'] },
  };
}

/**
 * Reads the payload and the envelope's time. The first payload field present must hold an object:
 * a payload sent as a string (JSON encoded twice) or a number is refused, not read as empty, which
 * would keep an event without its name and capacity or date a transition by when it arrived. An
 * unparseable envelope time rejects the message even when its own time is given.
 */
function readPayload(head: EnvelopeHead): Envelope {
  const { dataFrom, timeFrom } = head;
  let data: Json = {};
  for (const name of dataFrom.fields) {
    const value = dataFrom.source[name];
    if (!present(value)) continue;
    // A deletion needs nothing of its payload: whatever it holds, the event named goes.
    if (isObject(value)) data = value;
    else if (head.type !== 'EventDeleted') return reject('not_object', `${name} is not a JSON object`);
    break;
  }
  let fallbackTime: number | undefined;
  for (const timeField of timeFrom.fields) fallbackTime ??= timestampField(timeFrom.source, timeField);
  // Built field by field (no rest and spread): this runs for every message.
  return {
    type: head.type,
    data,
    top: head.top,
    explicitKey: head.explicitKey,
    keyIsTopId: head.keyIsTopId,
    fallbackTime,
  };
}

/** A field from the nested payload, else from the top level (the flat format). */
function field(env: Envelope, name: string): unknown {
  const nested = env.data[name];
  return present(nested) ? nested : env.top[name];
}

/**
 * An id the envelope names (events.md §2a: `booking_id`, `event_id`, `user_id` beside the payload),
 * else the payload's: ids read as the booking id is read, so a message whose two disagree is one
 * booking of one event, the envelope's.
 */
function envelopeId(env: Envelope, name: string): unknown {
  const own = env.top[name];
  return present(own) ? own : env.data[name];
}

function occurrenceTime(env: Envelope, receivedAt: number): number {
  const fieldName = OCCURRENCE_FIELD[env.type];
  const own = fieldName
    ? (timestampField(env.data, fieldName) ?? timestampField(env.top, fieldName))
    : undefined;
  return own ?? env.fallbackTime ?? receivedAt;
}

function parseBooking(env: Envelope, transition: Transition, receivedAt: number): BookingMessage {
  const bookingId = asId(env.top.booking_id ?? env.data.booking_id ?? env.data.id);
  if (bookingId === undefined)
    return reject('missing_booking_id', 'booking_id must be a non-negative integer');
  const eventIdRaw = envelopeId(env, 'event_id');
  const eventId = asId(eventIdRaw);
  if (present(eventIdRaw) && eventId === undefined)
    return reject('missing_event_id', 'event_id must be an integer');
  if (transition === 'created' && eventId === undefined) {
    return reject('missing_event_id', 'BookingCreated needs event_id');
  }
  const quantityRaw = field(env, 'quantity');
  if (
    (present(quantityRaw) || transition === 'created') &&
    !(
      Number.isInteger(quantityRaw) &&
      (quantityRaw as number) >= 1 &&
      (quantityRaw as number) <= MAX_QUANTITY
    )
  ) {
    return reject('invalid_quantity', `quantity must be an integer from 1 to ${MAX_QUANTITY}`);
  }
  const amountRaw = field(env, 'total_amount');
  if (
    (present(amountRaw) || transition === 'created') &&
    !(
      typeof amountRaw === 'number' &&
      Number.isFinite(amountRaw) &&
      amountRaw >= 0 &&
      amountRaw <= MAX_AMOUNT
    )
  ) {
    return reject('invalid_amount', `total_amount must be a number from 0 to ${MAX_AMOUNT}`);
  }
  const userId = asId(envelopeId(env, 'user_id'));
  const currencyRaw = field(env, 'currency');
  const message: BookingMessage = {
    kind: 'booking',
    key: env.explicitKey ?? `${env.type}:${bookingId}`,
    transition,
    bookingId,
    time: occurrenceTime(env, receivedAt),
  };
  if (eventId !== undefined) message.eventId = eventId;
  if (userId !== undefined) message.userId = userId;
  if (present(quantityRaw)) message.quantity = quantityRaw as number;
  if (present(amountRaw)) message.amount = toMoneyUnits(amountRaw as number);
  if (typeof currencyRaw === 'string' && currencyRaw.trim() !== '')
    message.currency = currencyRaw.trim().toUpperCase();
  return message;
}

function parseEvent(env: Envelope, receivedAt: number, raw: unknown): EventMetaMessage | EventDeletedMessage {
  const eventId = asId(env.top.event_id ?? env.data.id ?? env.data.event_id ?? env.top.id);
  if (eventId === undefined) return reject('missing_event_id', 'event_id must be a non-negative integer');
  // A flat event's top-level `id` that names the event is its id, not an idempotency key: as a key
  // it would make every later update and the deletion of the event duplicates of its creation.
  const explicitKey = env.keyIsTopId && asId(env.top.id) === eventId ? undefined : env.explicitKey;
  const time = occurrenceTime(env, receivedAt);
  if (env.type === 'EventDeleted') {
    return { kind: 'event_deleted', key: explicitKey ?? `EventDeleted:${eventId}`, eventId, time };
  }
  const capacityRaw = field(env, 'capacity');
  if (
    present(capacityRaw) &&
    !(
      Number.isInteger(capacityRaw) &&
      (capacityRaw as number) >= 0 &&
      (capacityRaw as number) <= MAX_CAPACITY
    )
  ) {
    return reject('invalid_capacity', `capacity must be an integer from 0 to ${MAX_CAPACITY}`);
  }
  const updatedAt = field(env, 'updated_at');
  // An EventCreated happened when the event was created: its occurrence time (created_at, else
  // the envelope's time, else when it was received) is the creation time. An update may carry one.
  const createdAt =
    env.type === 'EventCreated'
      ? time
      : (timestampField(env.data, 'created_at') ?? timestampField(env.top, 'created_at') ?? null);
  const fallbackKey =
    env.type === 'EventCreated'
      ? `EventCreated:${eventId}`
      : typeof updatedAt === 'string'
        ? `EventUpdated:${eventId}:${updatedAt}`
        : sha256(canonicalJson(raw));
  return {
    kind: 'event_meta',
    key: explicitKey ?? fallbackKey,
    eventId,
    time,
    name: optionalString(field(env, 'name')) ?? optionalString(field(env, 'title')) ?? undefined,
    category: clearable(env, 'category', optionalString),
    capacity: present(capacityRaw) ? (capacityRaw as number) : undefined,
    price: clearable(env, 'price', (price) =>
      typeof price === 'number' && Number.isFinite(price) ? price : null,
    ),
    status: clearable(env, 'status', optionalString),
    eventDate: clearable(env, 'event_date', (date) => timestampValue(date, 'event_date') ?? null),
    createdAt,
  };
}

function parseUser(env: Envelope, receivedAt: number): UserStatusMessage {
  const userId = asId(field(env, 'user_id') ?? env.data.id);
  if (userId === undefined) return reject('missing_user_id', 'user_id must be a non-negative integer');
  const time = occurrenceTime(env, receivedAt);
  return {
    kind: 'user_status',
    // Not a content hash: deactivating again later (same content, another time) is a new change.
    key: env.explicitKey ?? `${env.type}:${userId}:${time}`,
    userId,
    disabled: env.type === 'UserDeactivated',
    // A change stamped later than it arrived (a producer's clock running ahead) counts as made when
    // it arrived: stored as the newest change, a future time would outrank every real change after
    // it, an admin's included, until that time came.
    time: Math.min(time, receivedAt),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function parseMessage(raw: string, receivedAt: number): ParseResult {
  try {
    if (Buffer.byteLength(raw, 'utf8') > MAX_MESSAGE_BYTES) {
      return reject('too_large', `message is over ${MAX_MESSAGE_BYTES} bytes`);
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return reject('invalid_json', 'message is not valid JSON');
    }
    if (!isObject(value)) return reject('not_object', 'message is not a JSON object');
    const head = readEnvelope(value);
    // A type the service does not aggregate is ignored whatever else it holds: none of it is read.
    if (IGNORED_TYPES.has(head.type)) return { outcome: 'ignored', type: head.type };
    const transition = Object.hasOwn(BOOKING_TYPES, head.type) ? BOOKING_TYPES[head.type] : undefined;
    if (!transition && !EVENT_TYPES.has(head.type) && !USER_TYPES.has(head.type))
      return reject('unknown_type', `unknown message type "${head.type}"`);
    const env = readPayload(head);
    if (transition) return { outcome: 'valid', message: parseBooking(env, transition, receivedAt) };
    if (EVENT_TYPES.has(env.type)) return { outcome: 'valid', message: parseEvent(env, receivedAt, value) };
    return { outcome: 'valid', message: parseUser(env, receivedAt) };
  } catch (error) {
    if (error instanceof Rejection)
      return { outcome: 'rejected', reason: error.reason, detail: error.detail };
    // A message this parser cannot handle is a dead letter to retry after a fix, never a reason
    // to stop the stream it came in.
    return {
      outcome: 'rejected',
      reason: 'processing_error',
      detail: 'the message could not be parsed; it is kept for a retry after a fix',
    };
  }
}
