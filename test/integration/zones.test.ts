/**
 * One source of zone rules: a booking's local day is the same whether it is read per request
 * (`tz=`), from the day tables of the reporting zone (kept live at ingest, re-derived at start-up
 * when REPORTING_TIMEZONE changes) or after a rebuild, on PostgreSQL and on PGlite, whose own zone
 * rules differ from Node's for some zones (PGlite 0.5 keeps America/Vancouver on summer time after
 * November 2026; PostgreSQL reads `CET` as a fixed offset).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { bookingMessage, eventCreated } from '../support/messages.ts';

const BASE = '/api/v1/analytics';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Two bookings a few minutes apart on either side of a local midnight of `zone`. */
const cases = [
  {
    store: 'pglite' as const,
    zone: 'America/Vancouver',
    // 23:30 on 26 November and 00:15 on 27 November, Pacific Standard Time (UTC−8).
    instants: [Date.UTC(2026, 10, 27, 7, 30), Date.UTC(2026, 10, 27, 8, 15)],
    days: ['2026-11-26', '2026-11-27'],
  },
  {
    store: 'postgres' as const,
    zone: 'CET',
    // 23:45 on 1 July and 00:30 on 2 July, Central European Summer Time (UTC+2).
    instants: [Date.UTC(2024, 6, 1, 21, 45), Date.UTC(2024, 6, 1, 22, 30)],
    days: ['2024-07-01', '2024-07-02'],
  },
];

describe.each(cases)('local days of $zone on $store', ({ store, zone, instants, days }) => {
  const [first, second] = instants as [number, number];
  const messages = [
    eventCreated({
      id: 1,
      name: 'Night show',
      category: 'music',
      capacity: 100,
      price: 10,
      createdAt: first - 86_400_000,
      eventDate: first + 86_400_000,
    }),
    ...[first, second].map((createdAt, i) =>
      bookingMessage('BookingCreated', {
        id: i + 1,
        eventId: 1,
        userId: i + 1,
        quantity: 1,
        totalAmount: 10,
        createdAt,
      }),
    ),
  ];
  const query = `from=${days[0]}&to=${days[1]}&as_of=${days[1]}`;
  const newBookings = async (t: TestApp, tz?: string) => {
    const daily = await getData(t.app, t.token, `${BASE}/daily?${query}${tz ? `&tz=${tz}` : ''}`);
    return (daily.series as { date: string; new_bookings: number }[]).map((d) => [d.date, d.new_bookings]);
  };
  const expected = [
    [days[0], 1],
    [days[1], 1],
  ];

  it('puts each booking on its own local day per request, in the day tables after a zone change, and after a rebuild', async () => {
    const dataDir = store === 'pglite' ? mkdtempSync(path.join(tmpdir(), 'evently-zones-')) : undefined;
    if (dataDir) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const inUtc = await startTestApp({ store, dataDir, env: { REPORTING_TIMEZONE: 'UTC' } });
    await ingestHttp(inUtc.app, inUtc.token, messages);
    expect(await newBookings(inUtc, zone)).toEqual(expected);
    const databaseUrl = inUtc.database?.url;
    // The second start re-derives the day tables for the new reporting zone; the database stays.
    if (inUtc.database) cleanups.push(() => inUtc.database?.drop());
    await closeKeepingData(inUtc);

    // On PostgreSQL two instances start together with the new zone: one re-derives, as a writer.
    const [inZone, alongside] = await Promise.all([
      startTestApp({ store, dataDir, databaseUrl, env: { REPORTING_TIMEZONE: zone } }),
      store === 'postgres'
        ? startTestApp({ store, databaseUrl, env: { REPORTING_TIMEZONE: zone } })
        : Promise.resolve(undefined),
    ]);
    cleanups.push(() => closeKeepingData(inZone));
    if (alongside) cleanups.push(() => closeKeepingData(alongside));
    expect(await newBookings(inZone)).toEqual(expected);
    const rebuilt = await inZone.app.inject({
      method: 'POST',
      url: `${BASE}/rebuild`,
      headers: { authorization: `Bearer ${inZone.token}` },
    });
    expect(rebuilt.statusCode).toBe(200);
    expect(await newBookings(inZone)).toEqual(expected);
    // Read in UTC, both fall on the same day.
    const utcDay = new Date(first).toISOString().slice(0, 10);
    expect(await newBookings(inZone, 'UTC')).toEqual(days.map((day) => [day, day === utcDay ? 2 : 0]));
  });
});

/** Booking 1 of event 1, created at `createdAt`. */
const bookingAt = (createdAt: number) =>
  bookingMessage('BookingCreated', { id: 1, eventId: 1, userId: 1, quantity: 1, totalAmount: 5, createdAt });

/** Stops an app without dropping its database (its owner drops it). */
async function closeKeepingData(t: TestApp): Promise<void> {
  await t.app.close();
  await t.deps.close();
}

describe('zone names', () => {
  it('refuses names ICU accepts but IANA does not define (IST, PST, CTT, removed links) with a 400, never a 500', async () => {
    const t = await startTestApp();
    cleanups.push(() => t.close());
    await ingestHttp(t.app, t.token, [bookingAt(Date.UTC(2024, 6, 1, 20))]);
    for (const tz of ['IST', 'PST', 'CTT', 'ist', 'US/Pacific-New', 'SystemV/AST4']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `${BASE}/daily?from=2024-07-01&to=2024-07-02&tz=${tz}`,
        headers: { authorization: `Bearer ${t.token}` },
      });
      expect(res.statusCode, tz).toBe(400);
      expect(res.json<{ detail: string }>().detail).toMatch(/^tz must be/);
    }
    for (const tz of ['UTC', 'CET', 'EST5EDT', 'US/Pacific', 'Etc/GMT-14']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `${BASE}/daily?from=2024-07-01&to=2024-07-02&tz=${encodeURIComponent(tz)}`,
        headers: { authorization: `Bearer ${t.token}` },
      });
      expect(res.statusCode, tz).toBe(200);
    }
  });
});

describe('a day a zone skipped', () => {
  it('keeps the activity of the day before on that day (Pacific/Apia went from 29 to 31 December 2011)', async () => {
    const t = await startTestApp();
    cleanups.push(() => t.close());
    // 29 December 2011, 12:00 in Apia (UTC−10 that day).
    const at = Date.UTC(2011, 11, 29, 22);
    await ingestHttp(t.app, t.token, [bookingAt(at)]);
    for (const granularity of ['day', 'week']) {
      const daily = await getData(
        t.app,
        t.token,
        `${BASE}/daily?from=2011-12-28&to=2011-12-31&tz=Pacific/Apia&granularity=${granularity}`,
      );
      const series = daily.series as { date: string; new_bookings: number; active_events: number }[];
      const active = series
        .filter((d) => d.new_bookings > 0)
        .map((d) => [d.date, d.new_bookings, d.active_events]);
      expect(active, granularity).toEqual([[granularity === 'day' ? '2011-12-29' : '2011-12-26', 1, 1]]);
    }
  });
});
