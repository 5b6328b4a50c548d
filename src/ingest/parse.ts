/**
 * Raw message text → a normalized message, an "ignored" verdict or a rejection with the spec's
 * reason (shared/spec/events.md §2–4). Pure: no IO, no clock except the `receivedAt` passed in.
 */
import { createHash } from 'node:crypto';
import type {
  BookingMessage,
  EventDeletedMessage,
  EventMetaMessage,
  NormalizedMessage,
  Transition,
  UserStatusMessage,
} from '../aggregate/messages.ts';
import { toMoneyUnits } from '../aggregate/money.ts';
import {
  BOOKING_TYPES,
  type Envelope,
  envelopeId,
  field,
  isObject,
  occurrenceTime,
  present,
  readEnvelope,
  readPayload,
  timestampField,
  timestampValue,
} from './envelope.ts';
import { Rejection, reject, type RejectReason } from './rejection.ts';

export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Bounds past which a value cannot be a real booking (and would overflow exact storage). */
export const MAX_AMOUNT = 1e11;
export const MAX_QUANTITY = 1_000_000;
export const MAX_CAPACITY = 2_147_483_647;

export type ParseResult =
  | { outcome: 'valid'; message: NormalizedMessage }
  | { outcome: 'ignored'; type: string }
  | { outcome: 'rejected'; reason: RejectReason; detail: string };

const EVENT_TYPES = new Set(['EventCreated', 'EventUpdated', 'EventDeleted']);
const USER_TYPES = new Set(['UserDeactivated', 'UserReactivated']);
const IGNORED_TYPES = new Set([
  'BookingPaymentCompleted',
  'WaitlistJoined',
  'WaitlistCancelled',
  'WaitlistNotificationsSent',
  'WaitlistAvailabilityUpdated',
]);

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
