/**
 * Figures at the edges the conformance cases do not reach: instants past 2038 read in any zone,
 * money summed exactly and rounded once however large, rankings that agree with each other, and
 * days that begin at the first of two midnights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const BASE = '/api/v1/analytics';
const DAY = 86_400_000;

describe('figures at the edges', () => {
  let t: TestApp;
  const data = (url: string) => getData(t.app, t.token, `${BASE}${url}`);

  /** An event and one booking of it, created and confirmed at `at`. */
  const confirmedBooking = (b: Omit<BookingFacts, 'userId' | 'createdAt'>, at: number, capacity = 100) => [
    eventCreated({
      id: b.eventId,
      name: `Event ${b.eventId}`,
      category: 'music',
      capacity,
      price: 1,
      createdAt: at - DAY,
      eventDate: at + 30 * DAY,
    }),
    bookingMessage('BookingCreated', { ...b, userId: b.id, createdAt: at }),
    bookingMessage('BookingConfirmed', { ...b, userId: b.id, createdAt: at }, at + 60_000),
  ];

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('reads flows after 2038 in any zone (quarter-hour buckets past 2^31 seconds)', async () => {
    const at = Date.UTC(2038, 1, 1, 10);
    await ingestHttp(
      t.app,
      t.token,
      confirmedBooking({ id: 1, eventId: 1, quantity: 1, totalAmount: 5 }, at),
    );
    const daily = await data('/daily?from=2038-02-01&to=2038-02-01&as_of=2038-02-01&tz=Asia/Kolkata');
    expect(daily.series).toMatchObject([{ date: '2038-02-01', new_bookings: 1, total_revenue: 5 }]);
    expect(await data('/system?as_of=2038-02-10&tz=Europe/Berlin')).toMatchObject({ recent_bookings: 1 });
    expect(await data('/events/1?from=2038-02-01&to=2038-02-01&tz=Europe/Berlin')).toMatchObject({
      daily: [{ date: '2038-02-01', new_bookings: 1 }],
    });
  });

  it('sums money exactly and rounds it once, whatever its size', async () => {
    const messages = [
      // Half a cent on each of 1-3 November, bookings 11-13 of event 11.
      ...[1, 2, 3].flatMap((day) =>
        confirmedBooking(
          { id: 10 + day, eventId: 11, quantity: 1, totalAmount: 0.005 },
          Date.UTC(2026, 10, day, 10),
        ),
      ),
      ...confirmedBooking(
        { id: 14, eventId: 12, quantity: 1, totalAmount: 1_234_567.005 },
        Date.UTC(2026, 10, 5, 10),
      ),
    ];
    // Event 11 is announced again with each booking: duplicates, so one event with three bookings.
    await ingestHttp(t.app, t.token, messages);
    const window = 'from=2026-11-01&to=2026-11-10';
    // 3 × 0.005 + 1,234,567.005 = 1,234,567.02 exactly; rounding each day first gives .03.
    expect(await data(`/revenue?${window}`)).toMatchObject({ total_revenue: 1_234_567.02 });
    expect(await data(`/booking-trends?${window}`)).toMatchObject({ total_revenue: 1_234_567.02 });
    expect(await data('/system?as_of=2026-11-10')).toMatchObject({ recent_revenue: 1_234_567.02 });
    // All events so far: these two and the 5.00 of 2038 (rounded per event first: 1,234,572.03).
    expect(await data('/events')).toMatchObject({ summary: { total_revenue: 1_234_572.02 } });
    // One day of a large amount, half a cent up: 1,234,567.01 (a float rounding gives 1,234,567).
    const day = await data('/daily?from=2026-11-05&to=2026-11-05');
    expect(day.series).toMatchObject([{ total_revenue: 1_234_567.01, avg_booking_value: 1_234_567.01 }]);
  });

  it('sums money exactly in one batch past 2^53 units (ten amounts near the limit, then 0.0049 and 0.0001)', async () => {
    const at = Date.UTC(2041, 2, 1, 10);
    const bookings = [
      ...Array.from({ length: 10 }, (_, i) => ({ id: 70_000 + i, totalAmount: 99_999_999_999.99 })),
      { id: 70_101, totalAmount: 0.0049 },
      { id: 70_102, totalAmount: 0.0001 },
    ].map((b) =>
      bookingMessage('BookingConfirmed', { ...b, eventId: 7_000, userId: 1, quantity: 1, createdAt: at }, at),
    );
    await ingestHttp(t.app, t.token, bookings);
    // 999,999,999,999.9 + 0.005 = 999,999,999,999.905, shown .91. Summed as float units, past 2^53
    // each odd unit is rounded to an even one: .9048, shown .90.
    expect(await data('/events/7000')).toMatchObject({ total_revenue: 999_999_999_999.91 });
    expect(await data('/daily?from=2041-03-01&to=2041-03-01')).toMatchObject({
      series: [{ total_revenue: 999_999_999_999.91 }],
    });
  });

  it('averages revenue over the days from the exact total, not from a rounded one', async () => {
    await ingestHttp(t.app, t.token, [
      ...confirmedBooking(
        { id: 31, eventId: 31, quantity: 1, totalAmount: 0.0125 },
        Date.UTC(2026, 11, 1, 10),
      ),
      ...confirmedBooking(
        { id: 32, eventId: 31, quantity: 1, totalAmount: 0.0125 },
        Date.UTC(2026, 11, 2, 10),
      ),
    ]);
    // 0.025 shows as 0.03; over 2 days that is 0.0125, so 0.01 (0.03 / 2 would round to 0.02).
    expect(await data('/revenue?from=2026-12-01&to=2026-12-02')).toMatchObject({
      total_revenue: 0.03,
      average_daily_revenue: 0.01,
    });
  });

  it('starts a day at its first midnight where clocks go back over midnight (America/Havana)', async () => {
    // 7 November 2027 in Havana: at 01:00 daylight time clocks go back to 00:00, so the day begins
    // at 04:00Z and its first hour comes before the 05:00Z of midnight read in standard time.
    const at = Date.UTC(2027, 10, 7, 4, 30);
    const booking = { id: 60, eventId: 60, userId: 60, quantity: 1, totalAmount: 10, createdAt: at };
    await ingestHttp(t.app, t.token, [
      eventCreated({
        id: 60,
        name: 'Havana',
        category: 'music',
        capacity: 10,
        price: 10,
        createdAt: at,
        eventDate: at + 30 * DAY,
      }),
      bookingMessage('BookingCreated', booking),
      bookingMessage('BookingConfirmed', booking, at + 10 * 60_000),
    ]);
    const zone = 'tz=America/Havana';
    const daily = await data(`/daily?from=2027-11-06&to=2027-11-07&granularity=day&${zone}`);
    expect(daily.series).toMatchObject([
      { date: '2027-11-06', new_bookings: 0, confirmed_bookings: 0, total_revenue: 0 },
      { date: '2027-11-07', new_bookings: 1, confirmed_bookings: 1, total_revenue: 10 },
    ]);
    // The window of 7-13 November holds it; the 7 days before do not.
    expect(await data(`/revenue?days=7&as_of=2027-11-13&${zone}`)).toMatchObject({
      total_revenue: 10,
      revenue_growth_rate: null,
    });
    expect(await data(`/system?as_of=2027-12-06&${zone}`)).toMatchObject({ recent_events: 1 });
    expect(await data(`/system?as_of=2027-11-06&${zone}`)).toMatchObject({
      recent_events: 0,
      recent_bookings: 0,
    });
  });

  it('lists a currency with confirmed bookings in it, free tickets too, and drops it once none is left', async () => {
    const at = Date.UTC(2026, 10, 20, 10);
    const free = {
      id: 70,
      eventId: 70,
      userId: 70,
      quantity: 1,
      totalAmount: 0,
      currency: 'EUR',
      createdAt: at,
    };
    await ingestHttp(t.app, t.token, [
      eventCreated({
        id: 70,
        name: 'Free',
        category: 'music',
        capacity: 10,
        price: 0,
        createdAt: at - DAY,
        eventDate: at + DAY,
      }),
      bookingMessage('BookingCreated', free),
      bookingMessage('BookingConfirmed', free, at + 60_000),
    ]);
    expect(await data('/events/70')).toMatchObject({
      confirmed_bookings: 1,
      other_currency_revenue: { EUR: 0 },
    });
    await ingestHttp(t.app, t.token, [bookingMessage('BookingCancelled', free, at + 120_000)]);
    expect(await data('/events/70')).toMatchObject({ confirmed_bookings: 0, other_currency_revenue: {} });
  });

  it('ranks by the exact figure, so /top-events and /capacity agree', async () => {
    const at = Date.UTC(2026, 10, 6, 10);
    // 1 of 3 seats (33.333 %) and 100,001 of 300,000 (33.3337 %): both show 33.33.
    await ingestHttp(t.app, t.token, [
      ...confirmedBooking({ id: 21, eventId: 21, quantity: 1, totalAmount: 1 }, at, 3),
      ...confirmedBooking({ id: 22, eventId: 22, quantity: 100_001, totalAmount: 1 }, at, 300_000),
    ]);
    const top = (await data('/top-events?sort_by=utilization&limit=50')).events as {
      event_id: number;
      capacity_utilization: number;
    }[];
    const order = top.map((e) => e.event_id).filter((id) => id === 21 || id === 22);
    expect(order).toEqual([22, 21]);
    expect(top.find((e) => e.event_id === 21)?.capacity_utilization).toBe(33.33);
    const capacity = (await data('/capacity')).top_utilized_events as { event_id: number }[];
    expect(capacity.map((e) => e.event_id).filter((id) => id === 21 || id === 22)).toEqual(order);
  });
  it('counts an event as created when its EventCreated occurred, if it carries no created_at', async () => {
    const fields = { name: 'Late Show', category: 'music', capacity: 10, price: 5, status: 'published' };
    await ingestHttp(t.app, t.token, [
      // Evently format with only the envelope's occurred_at, and a CloudEvent with only its time.
      JSON.stringify({
        type: 'EventCreated',
        event_id: 901,
        event_data: { id: 901, ...fields },
        occurred_at: '2040-05-10T08:00:00Z',
      }),
      JSON.stringify({
        specversion: '1.0',
        id: 'ce-902',
        source: 'events',
        type: 'evently.event.created',
        time: '2040-05-12T23:30:00-02:00',
        data: { id: 902, ...fields },
      }),
      // Known only from an update: when it was created is not known, so it is in no window.
      JSON.stringify({
        type: 'EventUpdated',
        event_id: 903,
        event_data: { id: 903, ...fields, updated_at: '2040-05-11T08:00:00Z' },
      }),
    ]);
    expect(await data('/system?as_of=2040-05-31')).toMatchObject({ recent_events: 2 });
    // 23:30 at UTC-2 is 01:30 on the 13th in UTC: outside a window that ends on the 12th.
    expect(await data('/system?as_of=2040-05-12')).toMatchObject({ recent_events: 1 });
  });

  it('sums tickets past 2^31 for one event (2,200 bookings of a million tickets)', async () => {
    const at = Date.UTC(2041, 0, 10, 10);
    const bookings = Array.from({ length: 2_200 }, (_, i) =>
      bookingMessage(
        'BookingConfirmed',
        { id: 50_000 + i, eventId: 5_000, userId: 1, quantity: 1_000_000, totalAmount: 1, createdAt: at },
        at,
      ),
    );
    const answers = await ingestHttp(t.app, t.token, bookings);
    expect(answers.filter((a) => a.outcome !== 'processed')).toEqual([]);
    expect(await data('/events/5000')).toMatchObject({
      confirmed_bookings: 2_200,
      tickets_sold: 2_200_000_000,
    });
  });

  it('stores a NUL character in a name or a raw message as U+FFFD instead of failing the message', async () => {
    const answers = await ingestHttp(t.app, t.token, [
      JSON.stringify({
        type: 'EventUpdated',
        event_id: 6_000,
        event_data: { id: 6_000, name: 'Open\u0000Air', capacity: 10, updated_at: '2041-02-01T00:00:00Z' },
      }),
      // A raw NUL inside the JSON text: not JSON, so a dead letter, kept with its NUL replaced.
      '{"type":"EventDeleted","event_id":6001,"note":"a\u0000b"}',
    ]);
    expect(answers.map((a) => a.reason ?? a.outcome)).toEqual(['processed', 'invalid_json']);
    expect(await data('/events/6000')).toMatchObject({ event_name: 'Open\uFFFDAir', total_capacity: 10 });
    // A key with U+0000 is the key its log row holds: processed once, a duplicate the second time.
    const keyed = JSON.stringify({
      type: 'EventUpdated',
      message_id: 'update\u00006000',
      event_id: 6_000,
      event_data: { id: 6_000, capacity: 20, updated_at: '2041-02-02T00:00:00Z' },
    });
    expect((await ingestHttp(t.app, t.token, [keyed, keyed])).map((a) => a.outcome)).toEqual([
      'processed',
      'duplicate',
    ]);
    expect(await data('/events/6000')).toMatchObject({ total_capacity: 20 });
    const letters = await data('/dead-letters?reason=invalid_json');
    expect((letters.dead_letters as { raw: string }[]).map((d) => d.raw)).toContain(
      '{"type":"EventDeleted","event_id":6001,"note":"a\uFFFDb"}',
    );
  });

  it('keeps a message text exactly as received, with the characters the log write escapes', async () => {
    // JSON whitespace (tab, newline, carriage return) between tokens, and in a name a backslash, a
    // tab, and the two markers of PostgreSQL's COPY text format (`\N` for null, `\.` for the end).
    const name = 'Back\\slash \\N \\. \t end';
    const valid = `{\n\t"type": "EventUpdated",\r\n "event_id": 6100, "event_data": {"id": 6100, "name": ${JSON.stringify(name)}, "capacity": 7, "updated_at": "2041-03-01T00:00:00Z"}}`;
    const broken = 'not json\n\\.\n\\N\tend\\';
    const answers = await ingestHttp(t.app, t.token, [valid, broken]);
    expect(answers.map((a) => a.reason ?? a.outcome)).toEqual(['processed', 'invalid_json']);
    expect(await data('/events/6100')).toMatchObject({ event_name: name, total_capacity: 7 });
    const letters = await data('/dead-letters?reason=invalid_json&limit=500');
    expect((letters.dead_letters as { raw: string }[]).map((d) => d.raw)).toContain(broken);
    // A rebuild replays the texts as logged: the same event, named the same.
    const rebuilt = await t.app.inject({
      method: 'POST',
      url: `${BASE}/rebuild`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(rebuilt.statusCode).toBe(200);
    expect(await data('/events/6100')).toMatchObject({ event_name: name, total_capacity: 7 });
  });

  it('counts a booking made in year 0 (the earliest time taken), and keeps it through a rebuild', async () => {
    // PostgreSQL reads no year 0 as text: it is 1 BC there.
    const at = Date.parse('0000-06-01T10:00:00Z');
    const answers = await ingestHttp(
      t.app,
      t.token,
      confirmedBooking({ id: 6_200, eventId: 6_200, quantity: 2, totalAmount: 30 }, at),
    );
    expect(answers.map((a) => a.outcome)).toEqual(['processed', 'processed', 'processed']);
    const expected = { confirmed_bookings: 1, tickets_sold: 2, total_revenue: 30 };
    expect(await data('/events/6200')).toMatchObject(expected);
    const rebuilt = await t.app.inject({
      method: 'POST',
      url: `${BASE}/rebuild`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(rebuilt.statusCode).toBe(200);
    expect(await data('/events/6200')).toMatchObject(expected);
  });

  it('stores a lone UTF-16 surrogate as U+FFFD: every message of the call answered, none lost', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      // As a producer decoding bytes loosely sends them: half a surrogate pair, escaped and raw.
      payload:
        '{"messages":[' +
        '{"type":"EventUpdated","message_id":"half \\ud800 key","event_id":6002,' +
        '"event_data":{"id":6002,"name":"Lone \\udc00 half","capacity":5,"updated_at":"2041-02-01T00:00:00Z"}},' +
        '"{oops","lone \\ud800"]}',
    });
    expect(res.statusCode).toBe(200);
    const results = res.json<{ data: { results: { outcome: string; reason?: string }[] } }>().data.results;
    expect(results.map((r) => r.reason ?? r.outcome)).toEqual(['processed', 'invalid_json', 'invalid_json']);
    expect(await data('/events/6002')).toMatchObject({ event_name: 'Lone \uFFFD half', total_capacity: 5 });
    const letters = await data('/dead-letters?reason=invalid_json&limit=500');
    expect((letters.dead_letters as { raw: string }[]).map((d) => d.raw)).toContain('lone \uFFFD');
    // Its key is the key its log row holds: the same message again is a duplicate.
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/ingest',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      payload:
        '{"messages":[{"type":"EventUpdated","message_id":"half \\ud800 key","event_id":6002,' +
        '"event_data":{"id":6002,"capacity":6,"updated_at":"2041-02-02T00:00:00Z"}}]}',
    });
    expect(again.json<{ data: { results: { outcome: string }[] } }>().data.results[0]?.outcome).toBe(
      'duplicate',
    );
  });

  it('groups an event’s flows by week or month on request, as /daily does', async () => {
    // Event 9021: one confirmed booking on each of Sun 1, Mon 2 and Mon 9 November 2026, 10 each.
    await ingestHttp(
      t.app,
      t.token,
      [1, 2, 9]
        .flatMap((day) =>
          confirmedBooking(
            { id: 902_100 + day, eventId: 9021, quantity: 1, totalAmount: 10 },
            Date.UTC(2026, 10, day, 10),
          ),
        )
        .filter((m, i) => i === 0 || !m.includes('"EventCreated"')),
    );
    const range = 'from=2026-10-30&to=2026-11-10&as_of=2026-11-10';
    const weeks = await data(`/events/9021?${range}&granularity=week`);
    // Weeks start on Monday (the days before `from` not counted): 26 Oct, 2 Nov, 9 Nov.
    expect(weeks.daily).toMatchObject([
      { date: '2026-10-26', new_bookings: 1, confirmed_bookings: 1, total_revenue: 10 },
      { date: '2026-11-02', new_bookings: 1, confirmed_bookings: 1, total_revenue: 10 },
      { date: '2026-11-09', new_bookings: 1, confirmed_bookings: 1, total_revenue: 10 },
    ]);
    const months = await data(`/events/9021?${range}&granularity=month`);
    expect(months.daily).toMatchObject([
      { date: '2026-10-01', new_bookings: 0 },
      { date: '2026-11-01', new_bookings: 3, total_revenue: 30 },
    ]);
    // The default stays one entry a day.
    expect(((await data(`/events/9021?${range}`)).daily as unknown[]).length).toBe(12);
  });
});

describe('revenue in other currencies, system-wide', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('reports confirmed amounts per other currency in /system, summed exactly and never added in', async () => {
    const at = Date.UTC(2026, 10, 20, 10);
    const booking = (id: number, eventId: number, totalAmount: number, currency: string) => ({
      id,
      eventId,
      userId: id,
      quantity: 1,
      totalAmount,
      currency,
      createdAt: at + id * 60_000,
    });
    const confirmed = (b: BookingFacts) => [
      bookingMessage('BookingCreated', b),
      bookingMessage('BookingConfirmed', b, b.createdAt + 1_000),
    ];
    const system = () => getData(t.app, t.token, `${BASE}/system?as_of=2026-11-21`);
    expect(await system()).toMatchObject({ other_currency_revenue: {} });
    await ingestHttp(t.app, t.token, [
      ...confirmed(booking(1, 1, 12.5, 'EUR')),
      // Half a cent in each of two events: 12.51 summed exactly, 12.52 if each event were rounded first.
      ...confirmed(booking(2, 2, 0.005, 'EUR')),
      ...confirmed(booking(3, 1, 0.005, 'EUR')),
      ...confirmed(booking(4, 2, 7, 'GBP')),
      bookingMessage('BookingCreated', booking(5, 2, 3, 'GBP')),
      ...confirmed(booking(6, 1, 40, 'USD')),
    ]);
    expect(await system()).toMatchObject({
      total_revenue: 40,
      other_currency_revenue: { EUR: 12.51, GBP: 7 },
    });
    await ingestHttp(t.app, t.token, [
      bookingMessage('BookingCancelled', booking(4, 2, 7, 'GBP'), at + 3_600_000),
    ]);
    expect((await system()).other_currency_revenue).toEqual({ EUR: 12.51 });
  });
});
