/**
 * Definitions at their boundaries, each through the real pipeline and API on a store of its own:
 * where a band, a window or a range ends, what an average is over, how a page is cut, which of
 * two tied updates wins, what a default date is, and what retention keeps. A mutation review
 * found each of these could break with no faster test noticing (the conformance streams catch
 * some, minutes later).
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { pruneEventLog } from '../../src/store/maintenance.repository.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const BASE = '/api/v1/analytics';
const DAY = 86_400_000;

const apps: TestApp[] = [];
afterEach(async () => {
  for (const t of apps.splice(0)) await t.close();
});

async function freshStore(): Promise<{
  t: TestApp;
  data: (url: string) => Promise<Record<string, unknown>>;
}> {
  const t = await startTestApp();
  apps.push(t);
  return { t, data: (url) => getData(t.app, t.token, `${BASE}${url}`) };
}

function event(id: number, capacity: number, createdAt: number): string {
  return eventCreated({
    id,
    name: `Event ${id}`,
    category: 'music',
    capacity,
    price: 10,
    createdAt,
    eventDate: createdAt + 60 * DAY,
  });
}

type Fate = 'pending' | 'confirmed' | 'cancelled';

/** A booking of `quantity` tickets created at `at`, then confirmed or cancelled an hour later. */
function booking(id: number, eventId: number, at: number, fate: Fate, quantity = 1): string[] {
  const b: BookingFacts = { id, eventId, userId: id, quantity, totalAmount: 10 * quantity, createdAt: at };
  const created = bookingMessage('BookingCreated', b);
  if (fate === 'pending') return [created];
  const confirmed = bookingMessage('BookingConfirmed', b, at + 3_600_000);
  if (fate === 'confirmed') return [created, confirmed];
  return [created, confirmed, bookingMessage('BookingCancelled', b, at + 7_200_000)];
}

/** Today's date in a zone, as a calendar there shows it. */
function todayIn(zone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
}

describe('definitions at their boundaries', () => {
  it('puts an event at exactly 50 % in the medium band and at exactly 80 % in the high band, neither underutilized', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 5, 1, 10);
    await ingestHttp(t.app, t.token, [
      event(1, 10, at - DAY),
      event(2, 10, at - DAY),
      event(3, 10, at - DAY),
      ...booking(1, 1, at, 'confirmed', 5),
      ...booking(2, 2, at, 'confirmed', 8),
      ...booking(3, 3, at, 'confirmed', 4),
    ]);
    const capacity = await data('/capacity');
    // metrics.md, Rankings: high >= 80, medium >= 50 and < 80, low < 50; underutilized < 50.
    expect(capacity.utilization_distribution).toEqual({ high: 1, medium: 1, low: 1 });
    expect(capacity.underutilized_events).toEqual([{ event_id: 3, event_name: 'Event 3', utilization: 40 }]);
  });

  it('averages the cancellation rate over events with at least one booking only', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 5, 1, 10);
    await ingestHttp(t.app, t.token, [
      event(1, 100, at - DAY),
      event(2, 100, at - DAY),
      event(3, 100, at - DAY),
      ...booking(1, 1, at, 'confirmed'),
      ...booking(2, 1, at, 'confirmed'),
      ...booking(3, 3, at, 'cancelled'),
    ]);
    // Event 1: 0 %; event 3: 100 %; event 2 has no booking and is left out (not counted as 0 %).
    expect(await data('/system?as_of=2026-06-01')).toMatchObject({
      total_events: 3,
      avg_cancellation_rate: 50,
    });
  });

  it('counts an event created in the 30 days ending on as_of, its first and last instants included, and none after', async () => {
    const { t, data } = await freshStore();
    await ingestHttp(t.app, t.token, [
      event(1, 10, Date.UTC(2026, 9, 31, 23, 59, 59)), // the day before the window
      event(2, 10, Date.UTC(2026, 10, 1)), // the window's first instant
      event(3, 10, Date.UTC(2026, 10, 30, 23, 59, 59)), // its last second
      event(4, 10, Date.UTC(2026, 11, 1)), // the midnight after it
    ]);
    expect(await data('/system?as_of=2026-11-30')).toMatchObject({ total_events: 4, recent_events: 2 });
  });

  it('rounds the daily averages of booking trends and of the overview’s week, and rates the week’s cancellations over its bookings', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 11, 20, 10);
    await ingestHttp(t.app, t.token, [
      event(1, 100, at - DAY),
      ...booking(1, 1, at, 'pending'),
      ...booking(2, 1, at, 'pending'),
      ...booking(3, 1, at, 'confirmed'),
      ...booking(4, 1, at, 'cancelled'),
    ]);
    const trends = await data('/booking-trends?from=2026-12-19&to=2026-12-21&as_of=2026-12-21');
    expect(trends).toMatchObject({ total_bookings: 4, daily_average: 1.33 });
    const overview = await data('/overview?as_of=2026-12-21');
    // 4 bookings, 2 of them confirmed, 1 of those cancelled: 25 % of the bookings, not 50 % of the
    // confirmations.
    expect(overview.recent_trends).toMatchObject({
      last_7_days: { bookings: 4, cancelled: 1, cancellation_rate: 25, daily_average_bookings: 0.57 },
    });
  });

  it('holds the seats of pending bookings in the utilization, but sells only confirmed tickets', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 5, 1, 10);
    await ingestHttp(t.app, t.token, [event(1, 10, at - DAY), ...booking(1, 1, at, 'pending', 3)]);
    expect(await data('/events/1')).toMatchObject({
      pending_bookings: 1,
      capacity_utilization: 30,
      tickets_sold: 0,
      sell_through: 0,
    });
  });

  it('leaves a deleted event out of the capacity lists and bands', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 5, 1, 10);
    await ingestHttp(t.app, t.token, [
      event(1, 10, at - DAY),
      event(2, 10, at - DAY),
      ...booking(1, 1, at, 'confirmed', 3),
      ...booking(2, 2, at, 'confirmed', 9),
      JSON.stringify({ type: 'EventDeleted', event_id: 1 }),
    ]);
    expect(await data('/capacity')).toMatchObject({
      total_events: 1,
      utilization_distribution: { high: 1, medium: 0, low: 0 },
      top_utilized_events: [{ event_id: 2, utilization: 90 }],
      underutilized_events: [],
    });
  });

  it('grows bookings against the window before, as a share of that window', async () => {
    const { t, data } = await freshStore();
    const day = (d: number) => Date.UTC(2026, 5, d, 10);
    await ingestHttp(t.app, t.token, [
      event(1, 100, day(1)),
      ...[1, 2].flatMap((id) => booking(id, 1, day(7), 'pending')),
      ...[3, 4, 5].flatMap((id) => booking(id, 1, day(10), 'pending')),
    ]);
    // 3 bookings on 9-10 June against 2 on 7-8 June: +50 % (not +33 %, a share of the later window).
    expect(await data('/booking-trends?days=2&as_of=2026-06-10')).toMatchObject({
      total_bookings: 3,
      growth_rate: 50,
    });
  });

  it('runs the bookings total from before the range, through each day and each week, in any zone', async () => {
    const { t, data } = await freshStore();
    const day = (d: number) => Date.UTC(2026, 5, d, 10);
    await ingestHttp(t.app, t.token, [
      event(1, 100, day(1)),
      ...booking(1, 1, day(1), 'pending'),
      ...booking(2, 1, day(10), 'pending'),
      ...booking(3, 1, day(20), 'pending'),
    ]);
    const totals = async (query: string) =>
      (
        (await data(`/daily?from=2026-06-10&to=2026-06-20&${query}`)).series as { total_bookings: number }[]
      ).map((d) => d.total_bookings);
    // 10 June holds the booking of that day on top of the one before the range; 20 June all three.
    const days = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3];
    expect(await totals('as_of=2026-06-20')).toEqual(days);
    // Another zone reads its own day tables (shifted days): 10:00 UTC is the same date in Kolkata.
    expect(await totals('as_of=2026-06-20&tz=Asia/Kolkata')).toEqual(days);
    // The weeks of Monday 8 and Monday 15 June: the total at each one's last day in range.
    expect(await totals('as_of=2026-06-20&granularity=week')).toEqual([2, 3]);
  });

  it('follows a booking that moves to another user and another event in its users and active events', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 5, 10, 10);
    const facts = (userId: number, eventId: number): BookingFacts => ({
      id: 1,
      eventId,
      userId,
      quantity: 1,
      totalAmount: 10,
      createdAt: at,
    });
    await ingestHttp(t.app, t.token, [
      event(1, 10, at - DAY),
      event(2, 10, at - DAY),
      bookingMessage('BookingCreated', facts(5, 1)),
    ]);
    expect(await data('/system?as_of=2026-06-10')).toMatchObject({ total_users: 1 });
    // The confirmation names another user and event: the booking's attributes are the later
    // transition's, so user 5 and event 1 are left with nothing on that day.
    await ingestHttp(t.app, t.token, [bookingMessage('BookingConfirmed', facts(6, 2), at + 3_600_000)]);
    expect(await data('/system?as_of=2026-06-10')).toMatchObject({ total_users: 1 });
    const active = async (query: string) =>
      (
        (await data(`/daily?from=2026-06-08&to=2026-06-14&as_of=2026-06-14&${query}`)).series as {
          active_events: number;
        }[]
      ).map((d) => d.active_events);
    expect(await active('granularity=week')).toEqual([1]);
    // Another zone's weeks come from the activity masks.
    expect(await active('granularity=week&tz=Asia/Kolkata')).toEqual([1]);
    expect(await active('granularity=day')).toEqual([0, 0, 1, 0, 0, 0, 0]);
  });

  it('cuts a page of events at offset items, not offset pages', async () => {
    const { t, data } = await freshStore();
    const at = Date.UTC(2026, 5, 1, 10);
    await ingestHttp(
      t.app,
      t.token,
      [1, 2, 3, 4, 5].map((id) => event(id, 10, at)),
    );
    const page = await data('/events?sort=event_id&order=asc&limit=2&offset=1');
    expect((page.events as { event_id: number }[]).map((e) => e.event_id)).toEqual([2, 3]);
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 1 });
    const last = await data('/events?sort=event_id&order=asc&limit=2&offset=4');
    expect((last.events as { event_id: number }[]).map((e) => e.event_id)).toEqual([5]);
  });

  it('takes from/to at most 731 days apart, and refuses 732', async () => {
    const { t } = await freshStore();
    const get = (query: string) =>
      t.app.inject({ url: `${BASE}/daily?${query}`, headers: { authorization: `Bearer ${t.token}` } });
    // 2024 is a leap year: 2024-01-01 to 2026-01-01 is 731 days apart.
    const widest = await get('from=2024-01-01&to=2026-01-01');
    expect(widest.statusCode).toBe(200);
    expect(widest.json<{ data: { series: unknown[] } }>().data.series).toHaveLength(732);
    const wider = await get('from=2024-01-01&to=2026-01-02');
    expect(wider.statusCode).toBe(400);
    expect(wider.json<{ detail: string }>().detail).toMatch(/731/);
  });

  it('takes today in the request’s zone as the default as_of', async () => {
    const { t } = await freshStore();
    // 14 hours ahead of UTC and 11 behind: at any moment one of them is on another date than UTC.
    const zones = ['Pacific/Kiritimati', 'Pacific/Pago_Pago'];
    const before = zones.map(todayIn);
    const asOf = await Promise.all(zones.map(async (zone) => (await metaOf(t, `/system?tz=${zone}`)).as_of));
    const after = zones.map(todayIn);
    asOf.forEach((date, i) => expect([before[i], after[i]]).toContain(date));
    expect(asOf.some((date) => date !== todayIn('UTC'))).toBe(true);
  });

  it('gives a field to the later of two updates stamped with the same time', async () => {
    const { t, data } = await freshStore();
    const update = (key: string, name: string) =>
      JSON.stringify({
        type: 'EventUpdated',
        message_id: key,
        event_id: 7,
        event_data: { id: 7, name, updated_at: '2026-06-01T10:00:00Z' },
      });
    await ingestHttp(t.app, t.token, [event(7, 10, Date.UTC(2026, 4, 1))]);
    // The later one sorts first by key, name and text: only arrival order can pick it.
    await ingestHttp(t.app, t.token, [update('z1', 'Zulu')]);
    await ingestHttp(t.app, t.token, [update('a2', 'Alpha')]);
    expect(await data('/events/7')).toMatchObject({ event_name: 'Alpha' });
  });

  it('keeps a dead letter younger than the retention period, and drops an older one', async () => {
    const { t } = await freshStore();
    const db = t.deps.database.db;
    await ingestHttp(t.app, t.token, ['{not json', '{"type":"NoSuchType"}']);
    // The first dead letter is made 40 days old; the second was just received.
    await sql`update event_log set received_at = now() - interval '40 days' where raw = '{not json'`.execute(
      db,
    );
    const pruned = await db.transaction().execute((trx) => pruneEventLog(trx, 30));
    expect(pruned.deleted).toBe(1);
    const response = await t.app.inject({
      url: `${BASE}/dead-letters`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    const letters = response.json<{ data: { dead_letters: { raw: string; reason: string }[] } }>().data
      .dead_letters;
    expect(letters).toEqual([
      expect.objectContaining({ raw: '{"type":"NoSuchType"}', reason: 'unknown_type' }),
    ]);
  });
});

async function metaOf(t: TestApp, url: string): Promise<{ as_of: string }> {
  const response = await t.app.inject({
    url: `${BASE}${url}`,
    headers: { authorization: `Bearer ${t.token}` },
  });
  expect(response.statusCode).toBe(200);
  return response.json<{ meta: { as_of: string } }>().meta;
}
