/**
 * Bad messages among good ones, through HTTP ingest on real PostgreSQL (events.md §4): each is
 * answered `rejected` with its reason, kept as a dead letter with its raw payload, changes no
 * figure and stops nothing. A transition for a booking nobody has seen is parked, and processed
 * once its BookingCreated arrives or when an operator retries it.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { readFigures } from '../helpers/figures.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const BASE = '/api/v1/analytics';
const at = (iso: string): number => Date.parse(`${iso}Z`);
const window = { from: '2026-10-01', to: '2026-10-31', asOf: '2026-10-31' };

const jazz = {
  id: 7,
  name: 'Jazz Night',
  category: 'music',
  capacity: 100,
  price: 40,
  createdAt: at('2026-10-01T09:00:00'),
  eventDate: at('2026-12-01T20:00:00'),
};
const rock = {
  id: 8,
  name: 'Rock Cup',
  category: 'music',
  capacity: 50,
  price: 25,
  createdAt: at('2026-10-02T09:00:00'),
  eventDate: at('2026-12-05T20:00:00'),
};

function booking(
  id: number,
  eventId: number,
  userId: number,
  quantity: number,
  createdAt: string,
  currency = 'USD',
): BookingFacts {
  const price = eventId === jazz.id ? jazz.price : rock.price;
  return { id, eventId, userId, quantity, totalAmount: quantity * price, currency, createdAt: at(createdAt) };
}

const b91 = booking(91, 7, 3, 2, '2026-10-05T12:00:00');
const b92 = booking(92, 7, 4, 1, '2026-10-06T15:30:00');
const b93 = booking(93, 8, 3, 4, '2026-10-07T10:00:00', 'EUR');
const b94 = booking(94, 8, 5, 2, '2026-10-08T18:45:00');

const validTraffic: string[] = [
  eventCreated(jazz),
  eventCreated(rock),
  bookingMessage('BookingCreated', b91),
  bookingMessage('BookingConfirmed', b91, at('2026-10-05T12:04:00')),
  bookingMessage('BookingCreated', b92),
  bookingMessage('BookingExpired', b92, at('2026-10-06T15:45:00')),
  bookingMessage('BookingCreated', b93),
  bookingMessage('BookingConfirmed', b93, at('2026-10-07T10:02:00')),
  bookingMessage('BookingCreated', b94),
  bookingMessage('BookingConfirmed', b94, at('2026-10-08T18:50:00')),
  bookingMessage('BookingCancelled', b94, at('2026-10-12T09:00:00')),
  bookingMessage('BookingPaymentCompleted', b91, at('2026-10-05T12:03:00')),
];

/** A booking that, were it accepted, would change the figures of event 7. */
function tamperedCreated(
  id: number,
  changes: Record<string, unknown>,
  top: Record<string, unknown> = {},
): string {
  const message = JSON.parse(
    bookingMessage('BookingCreated', booking(id, 7, 9, 2, '2026-10-09T11:00:00')),
  ) as Record<string, unknown>;
  return JSON.stringify({
    ...message,
    ...top,
    booking_data: { ...(message.booking_data as object), ...changes },
  });
}

/** One message of every rejection kind of events.md §4, each realistic. */
const badTraffic: { reason: string; raw: string }[] = [
  { reason: 'too_large', raw: tamperedCreated(100, { notes: 'seat request '.repeat(6_000) }) },
  {
    reason: 'invalid_json',
    raw: '{"type": "BookingCreated", "booking_id": 101, "event_id": 7, "booking_data": {"quantity": 2',
  },
  {
    reason: 'not_object',
    raw: `[${bookingMessage('BookingCreated', booking(102, 7, 9, 1, '2026-10-09T11:00:00'))}]`,
  },
  { reason: 'missing_type', raw: tamperedCreated(103, {}, { type: undefined }) },
  { reason: 'unknown_type', raw: tamperedCreated(104, {}, { type: 'BookingRefunded' }) },
  {
    reason: 'missing_booking_id',
    raw: JSON.stringify({
      type: 'BookingConfirmed',
      event_id: 7,
      booking_data: { event_id: 7, quantity: 2, total_amount: 80, confirmed_at: '2026-10-09T11:05:00' },
    }),
  },
  { reason: 'missing_event_id', raw: tamperedCreated(105, { event_id: undefined }, { event_id: undefined }) },
  { reason: 'invalid_quantity', raw: tamperedCreated(106, { quantity: 0 }) },
  { reason: 'invalid_amount', raw: tamperedCreated(107, { total_amount: '80.00' }) },
  {
    reason: 'invalid_capacity',
    raw: JSON.stringify({
      type: 'EventUpdated',
      event_id: 7,
      event_data: { id: 7, name: 'Jazz Night', capacity: -1, updated_at: '2026-10-10T08:00:00' },
    }),
  },
  { reason: 'invalid_timestamp', raw: tamperedCreated(108, { created_at: '09/10/2026 11:00' }) },
  {
    reason: 'unknown_booking',
    raw: JSON.stringify({
      type: 'BookingConfirmed',
      booking_id: 109,
      booking_data: { id: 109, confirmed_at: '2026-10-09T11:05:00' },
    }),
  },
];

interface DeadLetter {
  id: number;
  reason: string;
  detail: string;
  transport: string;
  raw: string;
  raw_bytes: number;
  raw_truncated: boolean;
}

async function deadLetters(
  t: TestApp,
  query = '',
  limit = 50,
): Promise<{ dead_letters: DeadLetter[]; total: number }> {
  return (await getData(t.app, t.token, `${BASE}/dead-letters?limit=${limit}${query}`)) as unknown as {
    dead_letters: DeadLetter[];
    total: number;
  };
}

async function ingestCounters(t: TestApp): Promise<Record<string, number>> {
  const res = await t.app.inject({ method: 'GET', url: '/health' });
  expect(res.statusCode).toBe(200);
  return res.json<{ ingest: Record<string, number> }>().ingest;
}

async function eventFigures(t: TestApp, id: number): Promise<Record<string, unknown>> {
  return getData(t.app, t.token, `${BASE}/events/${id}?as_of=${window.asOf}`);
}

describe('bad messages among valid traffic', () => {
  let mixed: TestApp;
  let validOnly: TestApp;
  let answers: { outcome: string; reason?: string }[];
  /** Bad message i sits right after valid message i. */
  const interleaved = validTraffic.flatMap((raw, i) => [raw, ...(badTraffic[i] ? [badTraffic[i].raw] : [])]);

  beforeAll(async () => {
    [mixed, validOnly] = await Promise.all([startTestApp(), startTestApp()]);
    answers = await ingestHttp(mixed.app, mixed.token, interleaved);
    await ingestHttp(validOnly.app, validOnly.token, validTraffic);
  });
  afterAll(async () => {
    await Promise.all([mixed.close(), validOnly.close()]);
  });

  it('mixes exactly one message of every rejection kind into the traffic', () => {
    expect(badTraffic.map((b) => b.reason).sort()).toEqual(
      [
        'too_large',
        'invalid_json',
        'not_object',
        'missing_type',
        'unknown_type',
        'missing_booking_id',
        'missing_event_id',
        'invalid_quantity',
        'invalid_amount',
        'invalid_capacity',
        'invalid_timestamp',
        'unknown_booking',
      ].sort(),
    );
    expect(interleaved).toHaveLength(validTraffic.length + badTraffic.length);
  });

  it('answers each bad message rejected with its reason, and the good ones as usual', () => {
    const byRaw = new Map(interleaved.map((raw, i) => [raw, answers[i]]));
    for (const bad of badTraffic)
      expect({ reason: bad.reason, answer: byRaw.get(bad.raw) }).toEqual({
        reason: bad.reason,
        answer: { outcome: 'rejected', reason: bad.reason },
      });
    const good = validTraffic.map((raw) => byRaw.get(raw)?.outcome);
    expect(good).toEqual([...Array<string>(validTraffic.length - 1).fill('processed'), 'ignored']);
  });

  it('lists every bad message as a dead letter with its reason and its raw payload', async () => {
    const { dead_letters, total } = await deadLetters(mixed);
    expect(total).toBe(badTraffic.length);
    const listed = dead_letters
      .map((d) => ({ reason: d.reason, raw: d.raw, bytes: d.raw_bytes, truncated: d.raw_truncated }))
      .sort((a, b) => a.reason.localeCompare(b.reason));
    // The list shows the first 65,536 characters of a message (the too_large one is longer).
    const shown = badTraffic.map((b) => ({
      reason: b.reason,
      raw: b.raw.slice(0, 65_536),
      bytes: Buffer.byteLength(b.raw),
      truncated: b.raw.length > 65_536,
    }));
    expect(listed).toEqual(shown.sort((a, b) => a.reason.localeCompare(b.reason)));
    expect(listed.filter((d) => d.truncated).map((d) => d.reason)).toEqual(['too_large']);
    // A page of 500 shares 4 MiB of characters among its rows: the long message shows less of itself.
    const wide = (await deadLetters(mixed, '&reason=too_large', 500)).dead_letters[0];
    const tooLarge = badTraffic.find((b) => b.reason === 'too_large')?.raw ?? '';
    expect(wide).toMatchObject({
      raw: tooLarge.slice(0, 8_388),
      raw_bytes: Buffer.byteLength(tooLarge),
      raw_truncated: true,
    });
    for (const d of dead_letters)
      expect(d).toMatchObject({ transport: 'http', detail: expect.any(String) as unknown });
  });

  it('filters the dead letters by reason', async () => {
    const { dead_letters, total } = await deadLetters(mixed, '&reason=invalid_quantity');
    expect(total).toBe(1);
    expect(dead_letters.map((d) => d.raw)).toEqual([
      badTraffic.find((b) => b.reason === 'invalid_quantity')?.raw,
    ]);
  });

  it('reports the same figures as the valid traffic alone', async () => {
    const [withBad, withoutBad] = await Promise.all([
      readFigures(mixed.app, mixed.token, window),
      readFigures(validOnly.app, validOnly.token, window),
    ]);
    expect((withoutBad.system as { total_bookings: number }).total_bookings).toBe(4);
    expect(withBad).toEqual(withoutBad);
  });

  it('counts the rejections apart from the processed messages', async () => {
    expect(await ingestCounters(mixed)).toMatchObject({
      processed: validTraffic.length - 1,
      ignored: 1,
      rejected: badTraffic.length,
      duplicates: 0,
    });
  });

  it('keeps answering and processing after the bad messages', async () => {
    const later = booking(95, 8, 6, 1, '2026-10-20T10:00:00');
    expect(await ingestHttp(mixed.app, mixed.token, [bookingMessage('BookingCreated', later)])).toEqual([
      { outcome: 'processed' },
    ]);
    expect(await eventFigures(mixed, 8)).toMatchObject({ total_bookings: 3, pending_bookings: 1 });
  });
});

describe('a transition for a booking nobody has seen yet', () => {
  let t: TestApp;
  const b300 = booking(300, 7, 12, 3, '2026-10-14T09:00:00');
  const bareConfirm = JSON.stringify({
    type: 'BookingConfirmed',
    booking_id: 300,
    booking_data: { id: 300, confirmed_at: '2026-10-14T09:05:00' },
  });

  beforeAll(async () => {
    t = await startTestApp();
    await ingestHttp(t.app, t.token, [eventCreated(jazz)]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('is parked as unknown_booking, then processed on its own once its BookingCreated arrives', async () => {
    expect(await ingestHttp(t.app, t.token, [bareConfirm])).toEqual([
      { outcome: 'rejected', reason: 'unknown_booking' },
    ]);
    expect((await deadLetters(t, '&reason=unknown_booking')).dead_letters.map((d) => d.raw)).toEqual([
      bareConfirm,
    ]);

    expect(await ingestHttp(t.app, t.token, [bookingMessage('BookingCreated', b300)])).toEqual([
      { outcome: 'processed' },
    ]);
    expect(await deadLetters(t)).toMatchObject({ dead_letters: [], total: 0 });
    expect(await eventFigures(t, 7)).toMatchObject({
      total_bookings: 1,
      confirmed_bookings: 1,
      pending_bookings: 0,
      tickets_sold: 3,
      total_revenue: 120,
    });
    const day = (await getData(t.app, t.token, `${BASE}/daily?from=2026-10-14&to=2026-10-14`))
      .series as Record<string, unknown>[];
    expect(day).toEqual([
      expect.objectContaining({ new_bookings: 1, confirmed_bookings: 1, total_revenue: 120 }),
    ]);
    expect(await ingestCounters(t)).toMatchObject({ processed: 3, rejected: 0 });
  });

  it('keeps its event’s name, capacity and deletion when it names only its booking', async () => {
    const b301 = booking(301, 7, 13, 2, '2026-10-15T09:00:00');
    await ingestHttp(t.app, t.token, [bookingMessage('BookingCreated', b301)]);
    await ingestHttp(t.app, t.token, [
      JSON.stringify({
        type: 'BookingExpired',
        booking_id: 301,
        booking_data: { id: 301, expired_at: '2026-10-15T09:15:00' },
      }),
    ]);
    expect(await eventFigures(t, 7)).toMatchObject({
      event_name: 'Jazz Night',
      total_capacity: 100,
      category: 'music',
      expired_bookings: 1,
    });

    await ingestHttp(t.app, t.token, [JSON.stringify({ type: 'EventDeleted', event_id: 7 })]);
    await ingestHttp(t.app, t.token, [
      JSON.stringify({
        type: 'BookingCancelled',
        booking_id: 301,
        booking_data: { id: 301, cancelled_at: '2026-10-16T10:00:00' },
      }),
    ]);
    const res = await t.app.inject({
      method: 'GET',
      url: `${BASE}/events/7`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(res.statusCode).toBe(404);
  });
});

describe('retrying a dead letter', () => {
  let t: TestApp;
  const retry = (id: number) =>
    t.app.inject({
      method: 'POST',
      url: `${BASE}/dead-letters/${id}/retry`,
      headers: { authorization: `Bearer ${t.token}` },
    });

  beforeAll(async () => {
    t = await startTestApp();
    await ingestHttp(t.app, t.token, [eventCreated(jazz)]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers rejected again while the booking is still unknown, and keeps one dead letter', async () => {
    const bare = JSON.stringify({
      type: 'BookingCancelled',
      booking_id: 400,
      booking_data: { id: 400, cancelled_at: '2026-10-20T10:00:00' },
    });
    await ingestHttp(t.app, t.token, [bare]);
    const [parked] = (await deadLetters(t)).dead_letters;
    if (!parked) throw new Error('the bare cancellation was not parked');

    const res = await retry(parked.id);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ data: { result: unknown } }>().data.result).toMatchObject({
      outcome: 'rejected',
      reason: 'unknown_booking',
    });
    expect(await deadLetters(t)).toMatchObject({ total: 1, dead_letters: [{ id: parked.id, raw: bare }] });
  });

  it('re-processes a message an earlier release rejected, and then no longer lists it', async () => {
    // What a parser fix leaves behind: a valid message logged as rejected by the old code.
    const b500 = booking(500, 7, 20, 2, '2026-10-21T12:00:00');
    const raw = bookingMessage('BookingCreated', b500);
    await sql`insert into event_log (transport, outcome, reason, detail, message_type, booking_id, raw)
      values ('http', 'rejected', 'invalid_amount', 'rejected by an earlier release', 'booking.created', 500, ${raw})`.execute(
      t.deps.database.db,
    );
    const listed = (await deadLetters(t, '&reason=invalid_amount')).dead_letters[0];
    if (!listed) throw new Error('the inserted dead letter is not listed');
    const before = (await eventFigures(t, 7)).total_bookings as number;

    const res = await retry(listed.id);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ data: { result: unknown } }>().data.result).toMatchObject({
      outcome: 'processed',
      key: 'BookingCreated:500',
    });
    expect((await deadLetters(t, '&reason=invalid_amount')).total).toBe(0);
    expect(await eventFigures(t, 7)).toMatchObject({
      total_bookings: before + 1,
      pending_bookings: before + 1,
    });
    expect((await retry(listed.id)).statusCode).toBe(404);
  });

  it('answers 404 for an id that is not a dead letter', async () => {
    expect((await retry(987_654)).statusCode).toBe(404);
  });
});
