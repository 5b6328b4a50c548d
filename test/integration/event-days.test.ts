/**
 * One event's days in a zone other than the reporting zone are summed from its quarter-hours,
 * grouped by the index of their local day. They must be what each local day's quarter-hours add up
 * to, in every kind of zone: offsets of hours, half and three-quarter hours, clocks changing by an
 * hour or by half an hour, and a reporting zone that is not UTC.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstBucketOf, periodOfBucket, periodsOf, spansOf } from '../../src/store/local-days.ts';
import { addDays } from '../../src/aggregate/time.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';
import { mulberry32 } from '../support/seeded-random.ts';

const FROM = '2026-03-20';
const TO = '2026-04-12';
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Pacific/Chatham',
  'Australia/Lord_Howe',
  'Pacific/Kiritimati',
  'Pacific/Pago_Pago',
];

/** Bookings of event 1 (and some of event 2) at random instants around the window, some confirmed, cancelled or expired. */
function stream(seed: number): string[] {
  const random = mulberry32(seed);
  const start = Date.parse(`${addDays(FROM, -3)}T00:00:00Z`);
  const span = Date.parse(`${addDays(TO, 3)}T00:00:00Z`) - start;
  const at = () => start + Math.floor(random() * span);
  const messages = [1, 2].map((id) =>
    eventCreated({
      id,
      name: `Show ${id}`,
      category: 'music',
      capacity: 10_000,
      price: 10,
      createdAt: start - 86_400_000,
      eventDate: start + 2 * span,
    }),
  );
  for (let id = 1; id <= 400; id++) {
    const facts = {
      id,
      eventId: random() < 0.8 ? 1 : 2,
      userId: 1 + Math.floor(random() * 50),
      quantity: 1 + Math.floor(random() * 4),
      totalAmount: Math.round(random() * 1_000_000) / 10_000,
      createdAt: at(),
    };
    messages.push(bookingMessage('BookingCreated', facts));
    const next = random();
    const later = facts.createdAt + Math.floor(random() * 5 * 86_400_000);
    if (next < 0.5) messages.push(bookingMessage('BookingConfirmed', facts, later));
    if (next < 0.15) messages.push(bookingMessage('BookingCancelled', facts, later + 3_600_000));
    else if (next > 0.85) messages.push(bookingMessage('BookingExpired', facts, later));
  }
  return messages;
}

/** The event's figures per local day, summed from every quarter-hour of each day. */
async function everyQuarterHour(t: TestApp, eventId: number, tz: string) {
  const days = spansOf(periodsOf(FROM, TO, tz), firstBucketOf(addDays(TO, 1), tz));
  const { rows } = await sql<Record<string, string | number>>`
    select ${periodOfBucket(sql`bucket`, days)}::text as date, sum(new_bookings)::int as new_bookings,
      sum(confirmed)::int as confirmed_bookings, sum(cancelled)::int as cancelled_bookings,
      sum(expired)::int as expired_bookings, round(sum(revenue), 2)::float8 as total_revenue
    from flow_bucket_event where event_id = ${eventId}
      and bucket >= ${days[0]?.first ?? 0} and bucket < ${days.at(-1)?.end ?? 0}
    group by 1`.execute(t.deps.database.db);
  return new Map(rows.map(({ date, ...figures }) => [date, figures]));
}

describe.each(['UTC', 'Asia/Kolkata', 'America/New_York'])(
  "one event's days in other zones (reporting zone %s)",
  (reportingZone) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ env: { REPORTING_TIMEZONE: reportingZone } });
      const results = await ingestHttp(t.app, t.token, stream(reportingZone.length));
      expect(results.every((r) => r.outcome === 'processed')).toBe(true);
    });
    afterAll(async () => t.close());

    it.each(ZONES)('adds up to the sum of its quarter-hours in %s', async (tz) => {
      for (const eventId of [1, 2]) {
        const url = `/api/v1/analytics/events/${eventId}?from=${FROM}&to=${TO}&tz=${encodeURIComponent(tz)}`;
        const data = await getData(t.app, t.token, url);
        const series = data.daily as { date: string; [figure: string]: unknown }[];
        const expected = await everyQuarterHour(t, eventId, tz);
        expect(series).toHaveLength(24);
        const zero = {
          new_bookings: 0,
          confirmed_bookings: 0,
          cancelled_bookings: 0,
          expired_bookings: 0,
          total_revenue: 0,
        };
        for (const { date, ...figures } of series)
          expect(figures, `${tz} ${date}`).toEqual(expected.get(date) ?? zero);
        expect(series.reduce((n, d) => n + (d.new_bookings as number), 0)).toBeGreaterThan(0);
      }
    });
  },
);
