/**
 * The wire contract of shared/spec/events.md as the parser sees it: every rejection reason (§4),
 * the three envelope formats (§2a/2b), idempotency keys (§3) and occurrence times (§2c).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/aggregate/time.ts';
import type { NormalizedMessage } from '../../src/aggregate/messages.ts';
import { MAX_MESSAGE_BYTES, parseMessage } from '../../src/ingest/parse.ts';

/** When the service received the message: the last-resort occurrence time. */
const RECEIVED_AT = Date.UTC(2026, 10, 27, 9, 0, 0);
const utc = (iso: string): number => Date.parse(iso);

function parse(message: unknown) {
  return parseMessage(typeof message === 'string' ? message : JSON.stringify(message), RECEIVED_AT);
}

function normalized(message: unknown): NormalizedMessage {
  const result = parse(message);
  if (result.outcome !== 'valid') throw new Error(`expected a valid message, got ${JSON.stringify(result)}`);
  return result.message;
}

function reasonOf(message: unknown): string | undefined {
  const result = parse(message);
  return result.outcome === 'rejected' ? result.reason : undefined;
}

const bookingData = {
  id: 91,
  event_id: 7,
  user_id: 3,
  booking_reference: 'BK-91',
  quantity: 2,
  total_amount: 80.0,
  currency: 'USD',
  status: 'pending',
  payment_status: 'pending',
  created_at: '2026-11-03T12:00:00',
  expires_at: '2026-11-03T12:15:00',
};
const bookingCreated = {
  type: 'BookingCreated',
  booking_id: 91,
  event_id: 7,
  user_id: 3,
  booking_data: bookingData,
};

function booking(type: string, data: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return { type, booking_id: 91, event_id: 7, user_id: 3, ...top, booking_data: { ...bookingData, ...data } };
}

const eventData = {
  id: 7,
  name: 'Jazz Night',
  title: 'Jazz Night',
  category: 'music',
  capacity: 500,
  price: 40.0,
  status: 'published',
  event_date: '2026-12-01T20:00:00',
  created_at: '2026-11-01T09:00:00',
};
const eventCreated = { type: 'EventCreated', event_id: 7, event_data: eventData };

describe('rejections (events.md §4)', () => {
  it('rejects a message over 64 KiB as too_large, counting bytes rather than characters', () => {
    const notes = '€'.repeat(Math.ceil(MAX_MESSAGE_BYTES / 3)); // 3 bytes each: under 64 Ki characters, over 64 KiB
    expect(notes.length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(reasonOf(booking('BookingCreated', { notes }))).toBe('too_large');
  });

  it('accepts a message of exactly 64 KiB and rejects one byte more', () => {
    const base = JSON.stringify(booking('BookingCreated', { notes: '' }));
    const exact = JSON.stringify(
      booking('BookingCreated', { notes: 'x'.repeat(MAX_MESSAGE_BYTES - base.length) }),
    );
    expect(Buffer.byteLength(exact)).toBe(MAX_MESSAGE_BYTES);
    expect(parse(exact).outcome).toBe('valid');
    expect(reasonOf(exact.replace('"notes":"', '"notes":"x'))).toBe('too_large');
  });

  it.each([
    ['a truncated object', '{"type": "BookingCreated", "booking_id": 91, "booking_data": {"quantity": 2'],
    ['a Python repr', "{'type': 'BookingCreated', 'booking_id': 91}"],
    ['an empty string', ''],
    ['plain text', 'BookingCreated 91'],
  ])('rejects %s as invalid_json', (_label, raw) => {
    expect(reasonOf(raw)).toBe('invalid_json');
  });

  it.each([
    ['an array of messages', '[{"type": "BookingCreated", "booking_id": 91}]'],
    ['a JSON string', '"BookingCreated"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('rejects %s as not_object', (_label, raw) => {
    expect(reasonOf(raw)).toBe('not_object');
  });

  it.each([
    ['no type at all', { booking_id: 91, booking_data: bookingData }],
    ['an empty type', { ...bookingCreated, type: '' }],
    ['a numeric type', { ...bookingCreated, type: 3 }],
    [
      'a CloudEvent without a type',
      { specversion: '1.0', id: 'ce-1', source: '/bookings', data: bookingData },
    ],
  ])('rejects a message with %s as missing_type', (_label, message) => {
    expect(reasonOf(message)).toBe('missing_type');
  });

  it.each([
    ['an Evently type nobody publishes', { ...bookingCreated, type: 'BookingRefunded' }],
    ['a type in the wrong case', { ...bookingCreated, type: 'bookingcreated' }],
    [
      'an unknown CloudEvents type',
      { specversion: '1.0', id: 'ce-1', source: '/b', type: 'evently.booking.refunded', data: bookingData },
    ],
    [
      'an Evently type name used as a CloudEvents type',
      { specversion: '1.0', id: 'ce-1', source: '/b', type: 'BookingCreated', data: bookingData },
    ],
  ])('rejects %s as unknown_type', (_label, message) => {
    expect(reasonOf(message)).toBe('unknown_type');
  });

  it.each([
    [
      'a confirmation without any booking id',
      {
        type: 'BookingConfirmed',
        event_id: 7,
        booking_data: { event_id: 7, confirmed_at: '2026-11-03T12:05:00' },
      },
    ],
    ['a non-numeric booking id', booking('BookingCreated', { id: 'BK-91' }, { booking_id: 'BK-91' })],
    ['a negative booking id', booking('BookingCancelled', { id: -91 }, { booking_id: -91 })],
    ['a fractional booking id', booking('BookingExpired', { id: 91.5 }, { booking_id: 91.5 })],
  ])('rejects %s as missing_booking_id', (_label, message) => {
    expect(reasonOf(message)).toBe('missing_booking_id');
  });

  it.each([
    [
      'a BookingCreated without event_id',
      { type: 'BookingCreated', booking_id: 91, booking_data: { ...bookingData, event_id: undefined } },
    ],
    [
      'a booking whose event_id is not a number',
      booking('BookingConfirmed', { event_id: 'jazz-night' }, { event_id: 'jazz-night' }),
    ],
    ['an EventCreated without any id', { type: 'EventCreated', event_data: { ...eventData, id: undefined } }],
    ['an EventDeleted without event_id', { type: 'EventDeleted' }],
    [
      'an EventUpdated whose event_id is negative',
      { type: 'EventUpdated', event_id: -7, event_data: { ...eventData, id: -7 } },
    ],
  ])('rejects %s as missing_event_id', (_label, message) => {
    expect(reasonOf(message)).toBe('missing_event_id');
  });

  it.each([
    ['zero tickets', 0],
    ['a negative quantity', -2],
    ['a fractional quantity', 1.5],
    ['a quantity given as a string', '2'],
    ['no quantity on a BookingCreated', undefined],
  ])('rejects a booking with %s as invalid_quantity', (_label, quantity) => {
    expect(reasonOf(booking('BookingCreated', { quantity }))).toBe('invalid_quantity');
  });

  it('rejects a transition that carries a bad quantity, even though a transition may omit it', () => {
    expect(reasonOf(booking('BookingConfirmed', { quantity: 0, confirmed_at: '2026-11-03T12:05:00' }))).toBe(
      'invalid_quantity',
    );
  });

  it.each([
    ['a negative amount', -80],
    ['an amount given as a string', '80.00'],
    ['an amount given as an object', { value: 80, currency: 'USD' }],
    ['no amount on a BookingCreated', undefined],
  ])('rejects a booking with %s as invalid_amount', (_label, total_amount) => {
    expect(reasonOf(booking('BookingCreated', { total_amount }))).toBe('invalid_amount');
  });

  it('accepts a free booking (amount 0)', () => {
    expect(normalized(booking('BookingCreated', { total_amount: 0 }))).toMatchObject({
      kind: 'booking',
      amount: 0,
    });
  });

  it.each([
    ['a negative capacity', -1],
    ['a fractional capacity', 450.5],
    ['a capacity given as a string', '500'],
  ])('rejects an event with %s as invalid_capacity', (_label, capacity) => {
    expect(reasonOf({ ...eventCreated, event_data: { ...eventData, capacity } })).toBe('invalid_capacity');
  });

  it('rejects a bad capacity in the flat event format too', () => {
    expect(
      reasonOf({
        type: 'EventUpdated',
        event_id: 7,
        name: 'Jazz Night',
        capacity: -10,
        updated_at: '2026-11-02T10:00:00',
      }),
    ).toBe('invalid_capacity');
  });

  it.each([
    ['a US-style created_at', booking('BookingCreated', { created_at: '11/03/2026 12:00' })],
    ['an impossible calendar date', booking('BookingCreated', { created_at: '2026-02-30T12:00:00' })],
    ['an epoch number as confirmed_at', booking('BookingConfirmed', { confirmed_at: 1793700000 })],
    ['a word as cancelled_at', booking('BookingCancelled', { cancelled_at: 'yesterday' })],
    [
      'an event whose created_at is garbage',
      { ...eventCreated, event_data: { ...eventData, created_at: 'soon' } },
    ],
    [
      'an event whose event_date has month 13',
      { ...eventCreated, event_data: { ...eventData, event_date: '2026-13-01T20:00:00' } },
    ],
    [
      'an envelope timestamp that is not ISO 8601',
      { type: 'EventDeleted', event_id: 7, timestamp: 'Tue, 3 Nov 2026 12:00:00 GMT' },
    ],
    [
      'a CloudEvents time that is not ISO 8601',
      {
        specversion: '1.0',
        id: 'ce-9',
        source: '/e',
        type: 'evently.event.deleted',
        time: 'now',
        data: { id: 7 },
      },
    ],
  ])('rejects %s as invalid_timestamp', (_label, message) => {
    expect(reasonOf(message)).toBe('invalid_timestamp');
  });

  it('keeps a machine-readable reason and a human detail on every rejection', () => {
    const result = parse(booking('BookingCreated', { quantity: 0 }));
    expect(result).toEqual({
      outcome: 'rejected',
      reason: 'invalid_quantity',
      detail: expect.stringMatching(/quantity/) as unknown,
    });
  });
});

describe('envelope formats (events.md §2a, §2b)', () => {
  const withoutKey = (m: NormalizedMessage) => ({ ...m, key: undefined });

  it('normalizes an event the same way from the nested, flat and CloudEvents formats', () => {
    const nested = normalized(eventCreated);
    const { id: _id, ...fields } = eventData;
    const flat = normalized({ type: 'EventCreated', event_id: 7, ...fields });
    const flatById = normalized({ type: 'EventCreated', id: 7, ...fields });
    const cloud = normalized({
      specversion: '1.0',
      id: 'ce-event-7-created',
      source: '/events',
      type: 'evently.event.created',
      time: '2026-11-01T09:00:01Z',
      data: eventData,
    });
    expect(nested).toEqual({
      kind: 'event_meta',
      key: 'EventCreated:7',
      eventId: 7,
      time: utc('2026-11-01T09:00:00Z'),
      name: 'Jazz Night',
      category: 'music',
      capacity: 500,
      price: 40,
      status: 'published',
      eventDate: utc('2026-12-01T20:00:00Z'),
      createdAt: utc('2026-11-01T09:00:00Z'),
    });
    expect(flat).toEqual(nested);
    expect(flatById).toEqual(nested);
    expect(withoutKey(cloud)).toEqual(withoutKey(nested));
  });

  it("reads a flat event's string id as its id, not as an idempotency key its updates would repeat", () => {
    const { id: _id, ...fields } = eventData;
    const created = normalized({ type: 'EventCreated', id: '7', ...fields });
    const updated = normalized({
      type: 'EventUpdated',
      id: '7',
      ...fields,
      updated_at: '2026-11-02T10:00:00Z',
    });
    const deleted = normalized({ type: 'EventDeleted', id: '7' });
    expect([created.key, updated.key, deleted.key]).toEqual([
      'EventCreated:7',
      'EventUpdated:7:2026-11-02T10:00:00Z',
      'EventDeleted:7',
    ]);
    // A string id that is not the event's is the producer's key, as events.md says.
    expect(normalized({ type: 'EventDeleted', event_id: 7, id: 'evt-msg-1' }).key).toBe('evt-msg-1');
    expect(normalized({ type: 'EventDeleted', id: '7', message_id: 'm-1' }).key).toBe('m-1');
  });

  it('takes the event name from title when name is absent', () => {
    const { name: _name, ...noName } = eventData;
    expect(
      normalized({ ...eventCreated, event_data: { ...noName, title: 'Jazz Night (late set)' } }),
    ).toMatchObject({
      name: 'Jazz Night (late set)',
    });
  });

  it('normalizes a booking the same way from the Evently and CloudEvents formats', () => {
    const confirmedData = {
      ...bookingData,
      status: 'confirmed',
      payment_status: 'completed',
      confirmed_at: '2026-11-03T12:05:00',
    };
    const evently = normalized({
      type: 'BookingConfirmed',
      booking_id: 91,
      event_id: 7,
      user_id: 3,
      booking_data: confirmedData,
    });
    const cloud = normalized({
      specversion: '1.0',
      id: 'ce-booking-91-confirmed',
      source: '/bookings',
      type: 'evently.booking.confirmed',
      time: '2026-11-03T12:05:02Z',
      data: confirmedData,
    });
    expect(evently).toEqual({
      kind: 'booking',
      key: 'BookingConfirmed:91',
      transition: 'confirmed',
      bookingId: 91,
      eventId: 7,
      userId: 3,
      quantity: 2,
      amount: 800_000,
      currency: 'USD',
      time: utc('2026-11-03T12:05:00Z'),
    });
    expect(withoutKey(cloud)).toEqual(withoutKey(evently));
  });

  it('maps every CloudEvents type to its Evently type', () => {
    const ce = (type: string, data: object) =>
      normalized({ specversion: '1.0', id: `ce-${type}`, source: '/x', type, data });
    expect(ce('evently.booking.created', bookingData)).toMatchObject({
      kind: 'booking',
      transition: 'created',
    });
    expect(ce('evently.booking.confirmed', bookingData)).toMatchObject({
      kind: 'booking',
      transition: 'confirmed',
    });
    expect(ce('evently.booking.cancelled', bookingData)).toMatchObject({
      kind: 'booking',
      transition: 'cancelled',
    });
    expect(ce('evently.booking.expired', bookingData)).toMatchObject({
      kind: 'booking',
      transition: 'expired',
    });
    expect(ce('evently.event.created', eventData)).toMatchObject({ kind: 'event_meta', eventId: 7 });
    expect(ce('evently.event.updated', { ...eventData, updated_at: '2026-11-02T10:00:00' })).toMatchObject({
      kind: 'event_meta',
    });
    expect(ce('evently.event.deleted', { id: 7 })).toMatchObject({ kind: 'event_deleted', eventId: 7 });
  });

  it("reads a booking from its booking_data even when the message also carries the event's event_data", () => {
    const message = { ...bookingCreated, event_data: { id: 7, name: 'Jazz Night', capacity: 500 } };
    expect(normalized(message)).toMatchObject({ kind: 'booking', bookingId: 91, quantity: 2, eventId: 7 });
    // An event message with a booking_data beside its event_data still reads its event_data.
    expect(normalized({ ...eventCreated, booking_data: bookingData })).toMatchObject({
      kind: 'event_meta',
      capacity: 500,
      name: 'Jazz Night',
    });
  });

  it('takes the ids the envelope names over those of the payload when the two disagree', () => {
    const message = { ...bookingCreated, booking_data: { ...bookingData, id: 92, event_id: 8, user_id: 4 } };
    expect(normalized(message)).toMatchObject({ bookingId: 91, eventId: 7, userId: 3 });
    // Without them at the top level, the payload's are read.
    expect(normalized({ type: 'BookingCreated', booking_data: bookingData })).toMatchObject({
      bookingId: 91,
      eventId: 7,
      userId: 3,
    });
  });

  it('refuses a payload sent as a string (JSON encoded twice) instead of reading it as empty', () => {
    // Read as empty, the event would be kept nameless with no capacity, and the confirmation
    // dated by when it arrived.
    expect(parse({ ...eventCreated, event_data: JSON.stringify(eventData) })).toMatchObject({
      outcome: 'rejected',
      reason: 'not_object',
      detail: 'event_data is not a JSON object',
    });
    expect(reasonOf({ ...booking('BookingConfirmed'), booking_data: JSON.stringify(bookingData) })).toBe(
      'not_object',
    );
    expect(reasonOf({ type: 'EventUpdated', event_id: 7, event_data: [eventData] })).toBe('not_object');
    expect(
      reasonOf({
        specversion: '1.0',
        id: 'ce-s',
        type: 'evently.booking.created',
        data: JSON.stringify(bookingData),
      }),
    ).toBe('not_object');
    // A payload sent as null is left out: the flat format's fields at the top level are read.
    expect(
      normalized({ type: 'EventCreated', id: 7, name: 'Flat', capacity: 10, event_data: null }),
    ).toMatchObject({ eventId: 7, name: 'Flat', capacity: 10 });
    // A booking never reads an event_data in place of its booking_data (its times would be the event's).
    expect(
      normalized({
        ...bookingCreated,
        booking_data: null,
        event_data: { created_at: '2026-01-01T00:00:00Z' },
        quantity: 2,
        total_amount: 80,
        created_at: '2026-11-03T12:00:00Z',
      }),
    ).toMatchObject({ time: utc('2026-11-03T12:00:00Z'), quantity: 2 });
    // A deletion needs nothing of its payload.
    expect(normalized({ type: 'EventDeleted', event_id: 7, event_data: 'gone' })).toMatchObject({
      kind: 'event_deleted',
      eventId: 7,
    });
    // An unknown or ignored type is told as such whatever its payload holds.
    expect(reasonOf({ type: 'EventRenamed', event_data: 'x' })).toBe('unknown_type');
    expect(parse({ type: 'WaitlistJoined', booking_data: 'x' })).toMatchObject({ outcome: 'ignored' });
  });

  it('rejects a user status message without a user_id as missing_user_id', () => {
    expect(reasonOf({ type: 'UserDeactivated' })).toBe('missing_user_id');
    expect(reasonOf({ type: 'UserReactivated', user_id: 'seven' })).toBe('missing_user_id');
  });

  it('tells a metadata field sent as null (cleared) from one left out (kept)', () => {
    const update = normalized({
      type: 'EventUpdated',
      event_id: 7,
      event_data: { id: 7, category: null, price: null, updated_at: '2026-11-02T10:00:00Z' },
    });
    expect(update).toMatchObject({ kind: 'event_meta', category: null, price: null });
    expect(update).toMatchObject({
      name: undefined,
      capacity: undefined,
      status: undefined,
      eventDate: undefined,
    });
    // A value in either place is the field's value, as for every other field; null only when no value is sent.
    const mixed = normalized({
      type: 'EventUpdated',
      event_id: 7,
      category: 'music',
      status: null,
      event_data: { id: 7, category: null, status: 'published', updated_at: '2026-11-02T10:00:00Z' },
    });
    expect(mixed).toMatchObject({ category: 'music', status: 'published' });
  });

  it('reads an EventDeleted that carries only the event id', () => {
    expect(normalized({ type: 'EventDeleted', event_id: 7 })).toEqual({
      kind: 'event_deleted',
      key: 'EventDeleted:7',
      eventId: 7,
      time: RECEIVED_AT,
    });
  });

  it('accepts ids given as digit strings, as some producers send them', () => {
    expect(
      normalized(booking('BookingCreated', { id: '91', event_id: '7' }, { booking_id: '91', event_id: '7' })),
    ).toMatchObject({
      bookingId: 91,
      eventId: 7,
    });
  });

  it('upper-cases the currency and stores money exactly in 1/10,000 units', () => {
    expect(normalized(booking('BookingCreated', { currency: ' eur ', total_amount: 19.99 }))).toMatchObject({
      currency: 'EUR',
      amount: 199_900,
    });
  });

  it('lets a transition omit the booking facts it does not change', () => {
    const bare = normalized({
      type: 'BookingExpired',
      booking_id: 91,
      booking_data: { id: 91, expired_at: '2026-11-03T12:15:00' },
    });
    expect(bare).toEqual({
      kind: 'booking',
      key: 'BookingExpired:91',
      transition: 'expired',
      bookingId: 91,
      time: utc('2026-11-03T12:15:00Z'),
    });
  });
});

describe('ignored types (events.md §4)', () => {
  it.each([
    'BookingPaymentCompleted',
    'WaitlistJoined',
    'WaitlistCancelled',
    'WaitlistNotificationsSent',
    'WaitlistAvailabilityUpdated',
  ])('ignores %s without validating its fields', (type) => {
    expect(parse({ type, waitlist_entry_id: 3953, event_id: 4, user_id: 1646 })).toEqual({
      outcome: 'ignored',
      type,
    });
  });

  it('ignores them whatever their envelope time says, where an aggregated type is refused', () => {
    expect(parse({ type: 'BookingPaymentCompleted', booking_id: 1, timestamp: 'nope' })).toEqual({
      outcome: 'ignored',
      type: 'BookingPaymentCompleted',
    });
    expect(
      parse({ specversion: '1.0', id: 'w-1', type: 'evently.waitlist.joined', time: 'soon', data: {} }),
    ).toMatchObject({ outcome: 'ignored' });
    expect(parse({ ...bookingCreated, timestamp: 'nope' })).toMatchObject({
      outcome: 'rejected',
      reason: 'invalid_timestamp',
    });
  });

  it('ignores the waitlist CloudEvents types named after their pub/sub channels too', () => {
    for (const [ceType, type] of [
      ['evently.booking.waitlist_joined', 'WaitlistJoined'],
      ['evently.booking.waitlist_cancelled', 'WaitlistCancelled'],
      ['evently.booking.waitlist_notifications_sent', 'WaitlistNotificationsSent'],
      ['evently.booking.waitlist_availability_updated', 'WaitlistAvailabilityUpdated'],
    ]) {
      expect(parse({ specversion: '1.0', id: `ce-${ceType}`, type: ceType, data: {} })).toEqual({
        outcome: 'ignored',
        type,
      });
    }
  });

  it('ignores the CloudEvents form of a payment completion', () => {
    expect(
      parse({
        specversion: '1.0',
        id: 'ce-pay-91',
        source: '/payments',
        type: 'evently.booking.payment_completed',
        data: bookingData,
      }),
    ).toEqual({ outcome: 'ignored', type: 'BookingPaymentCompleted' });
  });
});

describe('idempotency keys (events.md §3)', () => {
  const keyOf = (message: unknown) => normalized(message).key;

  it('uses an explicit message_id first, even over a string id', () => {
    expect(keyOf({ ...bookingCreated, message_id: 'msg-0001', id: 'other' })).toBe('msg-0001');
  });

  it('uses a top-level id that is a string', () => {
    expect(keyOf({ ...bookingCreated, id: 'b8e0c2a4-91' })).toBe('b8e0c2a4-91');
  });

  it('does not take a numeric top-level id for a key', () => {
    expect(keyOf({ ...bookingCreated, id: 12345 })).toBe('BookingCreated:91');
  });

  it('uses the CloudEvents id', () => {
    expect(
      keyOf({
        specversion: '1.0',
        id: 'ce-42',
        source: '/bookings',
        type: 'evently.booking.created',
        data: bookingData,
      }),
    ).toBe('ce-42');
  });

  it.each([
    ['BookingCreated', 'BookingCreated:91'],
    ['BookingConfirmed', 'BookingConfirmed:91'],
    ['BookingCancelled', 'BookingCancelled:91'],
    ['BookingExpired', 'BookingExpired:91'],
  ])('keys a %s by type and booking id', (type, key) => {
    expect(keyOf(booking(type))).toBe(key);
  });

  it('keys EventCreated and EventDeleted by type and event id', () => {
    expect(keyOf(eventCreated)).toBe('EventCreated:7');
    expect(keyOf({ type: 'EventDeleted', event_id: 7 })).toBe('EventDeleted:7');
  });

  it('keys an EventUpdated by event id and updated_at, so two updates are two messages', () => {
    const update = (updatedAt: string) => ({
      type: 'EventUpdated',
      event_id: 7,
      event_data: { ...eventData, updated_at: updatedAt },
    });
    expect(keyOf(update('2026-11-02T10:00:00'))).toBe('EventUpdated:7:2026-11-02T10:00:00');
    expect(keyOf(update('2026-11-05T08:30:00'))).toBe('EventUpdated:7:2026-11-05T08:30:00');
  });

  it('falls back to the SHA-256 of the sorted-keys JSON when nothing else applies', () => {
    const key = keyOf({
      type: 'EventUpdated',
      event_id: 7,
      event_data: { name: 'Jazz Night', capacity: 450 },
    });
    const canonical =
      '{"event_data":{"capacity":450,"name":"Jazz Night"},"event_id":7,"type":"EventUpdated"}';
    expect(key).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('gives the same content-hash key whatever the order of the keys', () => {
    const a = keyOf(
      '{"type":"EventUpdated","event_id":7,"event_data":{"name":"Jazz Night","capacity":450,"tags":["a","b"]}}',
    );
    const b = keyOf(
      '{"event_data":{"tags":["a","b"],"capacity":450,"name":"Jazz Night"},"event_id":7,"type":"EventUpdated"}',
    );
    const changed = keyOf(
      '{"type":"EventUpdated","event_id":7,"event_data":{"name":"Jazz Night","capacity":451,"tags":["a","b"]}}',
    );
    expect(a).toBe(b);
    expect(changed).not.toBe(a);
  });
});

describe('occurrence time (events.md §2c)', () => {
  const timeOf = (message: unknown) => normalized(message).time;

  it('reads a timestamp without an offset as UTC', () => {
    expect(timeOf(booking('BookingCreated', { created_at: '2026-11-03T12:00:00' }))).toBe(
      utc('2026-11-03T12:00:00Z'),
    );
  });

  it('applies an explicit offset', () => {
    expect(timeOf(booking('BookingCreated', { created_at: '2026-11-03T12:00:00+02:00' }))).toBe(
      utc('2026-11-03T10:00:00Z'),
    );
    expect(timeOf(booking('BookingCreated', { created_at: '2026-11-03T12:00:00.250-0530' }))).toBe(
      utc('2026-11-03T17:30:00.250Z'),
    );
  });

  it.each([
    ['EventCreated', eventCreated, '2026-11-01T09:00:00Z'],
    [
      'EventUpdated',
      { type: 'EventUpdated', event_id: 7, event_data: { ...eventData, updated_at: '2026-11-02T10:00:00' } },
      '2026-11-02T10:00:00Z',
    ],
    ['BookingCreated', booking('BookingCreated'), '2026-11-03T12:00:00Z'],
    [
      'BookingConfirmed',
      booking('BookingConfirmed', { confirmed_at: '2026-11-03T12:05:00' }),
      '2026-11-03T12:05:00Z',
    ],
    [
      'BookingCancelled',
      booking('BookingCancelled', { cancelled_at: '2026-11-04T08:00:00' }),
      '2026-11-04T08:00:00Z',
    ],
    [
      'BookingExpired',
      booking('BookingExpired', { expired_at: '2026-11-03T12:15:00' }),
      '2026-11-03T12:15:00Z',
    ],
  ])('takes a %s at its own time field, not at created_at or the envelope time', (_type, message, iso) => {
    expect(timeOf({ ...message, timestamp: '2026-11-20T00:00:00Z' })).toBe(utc(iso));
  });

  it('falls back to the envelope timestamp when the own time field is missing', () => {
    expect(timeOf(booking('BookingConfirmed', {}, { timestamp: '2026-11-03T12:06:00Z' }))).toBe(
      utc('2026-11-03T12:06:00Z'),
    );
  });

  it('falls back to occurred_at when there is no timestamp', () => {
    expect(timeOf({ type: 'EventDeleted', event_id: 7, occurred_at: '2026-11-10T00:00:00-05:00' })).toBe(
      utc('2026-11-10T05:00:00Z'),
    );
  });

  it('falls back to the CloudEvents time', () => {
    expect(
      timeOf({
        specversion: '1.0',
        id: 'ce-del-7',
        source: '/events',
        type: 'evently.event.deleted',
        time: '2026-11-10T05:00:00Z',
        data: { id: 7 },
      }),
    ).toBe(utc('2026-11-10T05:00:00Z'));
  });

  it('falls back to the time the service received the message', () => {
    expect(timeOf(booking('BookingCancelled'))).toBe(RECEIVED_AT);
    expect(timeOf({ type: 'EventDeleted', event_id: 7 })).toBe(RECEIVED_AT);
  });
});

describe('hostile and odd messages found in review', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

  it('refuses a deeply nested content-hashed message instead of overflowing the stack', () => {
    const raw = `{"type":"EventUpdated","event_id":7,"event_data":{"name":"x","extra":${deep(6_000)}}}`;
    expect(raw.length).toBeLessThan(MAX_MESSAGE_BYTES);
    const result = parse(raw);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'invalid_json' });
    // Nesting a producer might really use is still fine.
    expect(parse(`{"type":"EventUpdated","event_id":7,"event_data":{"x":${deep(20)}}}`).outcome).toBe(
      'valid',
    );
  });

  it('takes only its own type names, never what every object inherits', () => {
    for (const type of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      expect(reasonOf({ type, booking_id: 502, event_id: 7, quantity: 1, total_amount: 10 })).toBe(
        'unknown_type',
      );
    }
    expect(
      reasonOf({ specversion: '1.0', id: 'x', source: '/b', type: 'constructor', data: { booking_id: 1 } }),
    ).toBe('unknown_type');
  });
});

describe('ISO 8601 timestamps as written', () => {
  it('reads a year below 100 as that year, not as 19xx', () => {
    expect(new Date(parseTimestamp('0026-11-03T12:00:00Z') ?? NaN).getUTCFullYear()).toBe(26);
  });

  it('takes 24:00 as the end of the day and refuses other hours past it', () => {
    expect(parseTimestamp('2026-11-03T24:00:00Z')).toBe(utc('2026-11-04T00:00:00Z'));
    expect(parseTimestamp('2026-11-03T24:30:00Z')).toBeUndefined();
  });

  it('refuses offsets with more than 59 minutes and days a month does not have', () => {
    expect(parseTimestamp('2026-11-03T12:00:00+05:99')).toBeUndefined();
    expect(parseTimestamp('2026-11-03T12:00:00+05:45')).toBe(utc('2026-11-03T06:15:00Z'));
    expect(parseTimestamp('2025-02-29T00:00:00Z')).toBeUndefined();
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe(utc('2024-02-29T00:00:00Z'));
  });

  it('refuses an instant that falls outside the years 0000-9999 in UTC', () => {
    expect(parseTimestamp('9999-12-31T24:00:00Z')).toBeUndefined();
    expect(parseTimestamp('9999-12-31T23:00:00-02:00')).toBeUndefined();
    expect(parseTimestamp('0000-01-01T01:00:00+02:00')).toBeUndefined();
    expect(parseTimestamp('9999-12-31T23:59:59Z')).toBe(utc('9999-12-31T23:59:59Z'));
    expect(new Date(parseTimestamp('0000-01-01T00:00:00Z') ?? NaN).toISOString()).toBe(
      '0000-01-01T00:00:00.000Z',
    );
  });
});
