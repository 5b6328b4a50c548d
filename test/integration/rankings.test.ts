/**
 * The rankings of /top-events against metrics.md: each order (bookings, revenue, utilization with
 * events without a capacity last), ties broken by event id, deleted events left out, and each
 * event's three ranks its positions in the three whole orders, whatever page was asked for.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rankedEvents, rankMethod } from '../../src/store/rankings.repository.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const HOUR = 3_600_000;
const now = Date.now();
const BY = ['bookings', 'revenue', 'utilization'] as const;
type By = (typeof BY)[number];

interface Ranked {
  event_id: number;
  total_bookings: number;
  total_revenue: number;
  capacity_utilization: number | null;
  booking_rank: number;
  revenue_rank: number;
  utilization_rank: number;
}

let service: TestApp;

/** Capacities with ties to break: equal bookings, equal revenue, equal utilization, and none at all. */
const CAPACITIES = [10, 0, 100, 10, 0, 20, 100, 40, 10];
/** [event, quantity, amount, confirmed] */
const BOOKINGS: [number, number, number, boolean][] = [
  [1, 5, 50, true],
  [2, 1, 25, true],
  [2, 1, 25, true],
  [3, 25, 10, true],
  [3, 25, 10, true],
  [4, 10, 50, true],
  [6, 1, 5, true],
  [6, 1, 5, false],
  [6, 1, 0, false],
  [7, 10, 20, true],
  [7, 40, 30, true],
  [8, 20, 50, true],
  [9, 5, 50, true],
];

async function ranking(by: By, limit = 50): Promise<{ events: Ranked[]; total: number }> {
  const response = await service.app.inject({
    url: `/api/v1/analytics/top-events?sort_by=${by}&limit=${limit}`,
    headers: { authorization: `Bearer ${service.token}` },
  });
  expect(response.statusCode).toBe(200);
  return response.json<{ data: { events: Ranked[]; total: number } }>().data;
}

/** metrics.md's order, worked out here from the figures each answer carries. */
function specOrder(events: Ranked[], by: By): number[] {
  const key = (e: Ranked) =>
    by === 'bookings' ? e.total_bookings : by === 'revenue' ? e.total_revenue : e.capacity_utilization;
  return [...events]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      if (ka === null || kb === null) return ka === kb ? a.event_id - b.event_id : ka === null ? 1 : -1;
      return kb - ka || a.event_id - b.event_id;
    })
    .map((e) => e.event_id);
}

beforeAll(async () => {
  service = await startTestApp();
  const messages = CAPACITIES.map((capacity, i) =>
    eventCreated({
      id: i + 1,
      name: `Event ${i + 1}`,
      category: 'music',
      capacity,
      price: 10,
      createdAt: now - 48 * HOUR,
      eventDate: now + 240 * HOUR,
    }),
  );
  BOOKINGS.forEach(([eventId, quantity, totalAmount, confirmed], i) => {
    const booking: BookingFacts = {
      id: 100 + i,
      eventId,
      userId: 500 + i,
      quantity,
      totalAmount,
      createdAt: now - 10 * HOUR + i * 60_000,
    };
    messages.push(bookingMessage('BookingCreated', booking));
    if (confirmed) messages.push(bookingMessage('BookingConfirmed', booking, booking.createdAt + 60_000));
  });
  // Event 8 leads every order until it is deleted.
  messages.push(
    JSON.stringify({
      type: 'EventDeleted',
      event_id: 8,
      event_data: { id: 8 },
      timestamp: new Date().toISOString(),
    }),
  );
  const { results } = await service.ingest(messages);
  expect(results.every((r) => r.outcome === 'processed')).toBe(true);
});

afterAll(async () => {
  await service?.close();
});

describe('rankings', () => {
  it('orders live events as metrics.md says, each with its positions in all three orders', async () => {
    const lists = Object.fromEntries(
      await Promise.all(BY.map(async (by) => [by, await ranking(by)])),
    ) as Record<By, { events: Ranked[]; total: number }>;
    const positions = Object.fromEntries(
      BY.map((by) => [by, new Map(lists[by].events.map((e, i) => [e.event_id, i + 1]))]),
    ) as Record<By, Map<number, number>>;
    for (const by of BY) {
      const { events, total } = lists[by];
      expect(total, by).toBe(8);
      expect(
        events.map((e) => e.event_id).sort((a, b) => a - b),
        by,
      ).toEqual([1, 2, 3, 4, 5, 6, 7, 9]);
      expect(
        events.map((e) => e.event_id),
        by,
      ).toEqual(specOrder(events, by));
      for (const e of events) {
        expect(e.booking_rank, `${by} ${e.event_id}`).toBe(positions.bookings.get(e.event_id));
        expect(e.revenue_rank, `${by} ${e.event_id}`).toBe(positions.revenue.get(e.event_id));
        expect(e.utilization_rank, `${by} ${e.event_id}`).toBe(positions.utilization.get(e.event_id));
      }
    }
    // The ties the figures hold are really there, so the id order was put to the test.
    const tied = (by: By) => new Set(lists[by].events.map((e) => JSON.stringify(specKey(e, by)))).size < 8;
    expect(BY.every(tied)).toBe(true);
    expect(lists.utilization.events.slice(-2).map((e) => e.capacity_utilization)).toEqual([null, null]);
  });

  it('ranks alike whether it counts positions on the indexes or numbers every event', async () => {
    // A store with a few events numbers them all; one with thousands counts (rankings.repository.ts).
    const { db } = service.deps.database;
    for (const by of BY)
      for (const limit of [1, 3, 8, 10]) {
        const counted = await rankedEvents(db, by, limit, 'counted');
        expect(counted.rows.length, `${by} ${limit}`).toBe(Math.min(limit, 8));
        expect(counted, `${by} ${limit}`).toEqual(await rankedEvents(db, by, limit, 'numbered'));
      }
  });

  it('chooses its method by the store before the first ranking of a process', async () => {
    // A new handle is what a process that has ranked nothing yet holds.
    const fresh = () => service.deps.database.db.withoutPlugins();
    await sql`analyze events`.execute(service.deps.database.db);
    expect(await rankMethod(fresh(), 10)).toBe('numbered');

    const large = await startTestApp();
    try {
      const many = Array.from({ length: 5_000 }, (_, i) =>
        eventCreated({
          id: i + 1,
          name: `Event ${i + 1}`,
          category: 'music',
          capacity: 100,
          price: 10,
          createdAt: now - 48 * HOUR,
          eventDate: now + 240 * HOUR,
        }),
      );
      for (let i = 0; i < many.length; i += 1_000) await large.ingest(many.slice(i, i + 1_000));
      await sql`analyze events`.execute(large.deps.database.db);
      const db = large.deps.database.db.withoutPlugins();
      expect(await rankMethod(db, 10)).toBe('counted');
      expect(await rankMethod(db, 11)).toBe('numbered');
      const top = await rankedEvents(db, 'bookings', 3);
      expect(top.total).toBe(5_000);
      expect(top.rows.map((r) => r.event_id)).toEqual([1, 2, 3]);
    } finally {
      await large.close();
    }
  }, 60_000);

  it('gives a page the same ranks as the whole order', async () => {
    for (const by of BY) {
      const whole = await ranking(by);
      const page = await ranking(by, 3);
      expect(page.total).toBe(whole.total);
      expect(page.events).toEqual(whole.events.slice(0, 3));
    }
  });
});

function specKey(e: Ranked, by: By): number | null {
  return by === 'bookings' ? e.total_bookings : by === 'revenue' ? e.total_revenue : e.capacity_utilization;
}
