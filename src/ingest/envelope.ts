/**
 * The three envelopes of shared/spec/events.md §2 (Evently, flat, CloudEvents) read into one shape:
 * the message type, its payload, the explicit idempotency key and the times to date it by. Pure.
 */
import { parseTimestamp } from '../aggregate/time.ts';
import type { Transition } from '../aggregate/messages.ts';
import { storableText } from '../store/rows.ts';
import { reject } from './rejection.ts';

export type Json = Record<string, unknown>;

export const BOOKING_TYPES: Record<string, Transition> = {
  BookingCreated: 'created',
  BookingConfirmed: 'confirmed',
  BookingCancelled: 'cancelled',
  BookingExpired: 'expired',
};
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

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export function timestampField(source: Json, field: string): number | undefined {
  return timestampValue(source[field], field);
}

export function timestampValue(raw: unknown, field: string): number | undefined {
  if (!present(raw)) return undefined;
  const parsed = typeof raw === 'string' ? parseTimestamp(raw) : undefined;
  return parsed ?? reject('invalid_timestamp', `${field} is not an ISO 8601 timestamp`);
}

export interface Envelope {
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
export interface EnvelopeHead extends Omit<Envelope, 'fallbackTime' | 'data'> {
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

export function readEnvelope(top: Json): EnvelopeHead {
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
export function readPayload(head: EnvelopeHead): Envelope {
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
export function field(env: Envelope, name: string): unknown {
  const nested = env.data[name];
  return present(nested) ? nested : env.top[name];
}

/**
 * An id the envelope names (events.md §2a: `booking_id`, `event_id`, `user_id` beside the payload),
 * else the payload's: ids read as the booking id is read, so a message whose two disagree is one
 * booking of one event, the envelope's.
 */
export function envelopeId(env: Envelope, name: string): unknown {
  const own = env.top[name];
  return present(own) ? own : env.data[name];
}

export function occurrenceTime(env: Envelope, receivedAt: number): number {
  const fieldName = OCCURRENCE_FIELD[env.type];
  const own = fieldName
    ? (timestampField(env.data, fieldName) ?? timestampField(env.top, fieldName))
    : undefined;
  return own ?? env.fallbackTime ?? receivedAt;
}
