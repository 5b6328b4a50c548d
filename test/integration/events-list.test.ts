/**
 * The event list as a user meets it: names sorted and searched alike on every store whatever its
 * collation, figures sorted by their exact values, blank filters that filter nothing, and money in
 * other currencies visible on /revenue's top events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ingestHttp } from '../helpers/conformance.ts';
import { bookingMessage, eventCreated, type BookingFacts } from '../support/messages.ts';

const DAY = Date.UTC(2026, 10, 3, 12);
const NAMES = [
  'Zebra',
  'apple',
  'émoji 🎉',
  'Äpfel',
  'aXb',
  'Apple',
  'Café',
  'Straße',
  'Istanbul ıİ',
  '100% Pure_Fun',
];

const event = (id: number, name: string, capacity = 100, category = 'music') =>
  eventCreated({ id, name, category, capacity, price: 10, createdAt: DAY, eventDate: DAY + 86_400_000 });

/** A booking created and confirmed on DAY. */
const confirmed = (b: Omit<BookingFacts, 'createdAt' | 'userId'>) => {
  const facts = { ...b, userId: b.id, createdAt: DAY };
  return [bookingMessage('BookingCreated', facts), bookingMessage('BookingConfirmed', facts, DAY + 60_000)];
};

describe.each(['postgres', 'pglite'] as const)('the event list (%s)', (store) => {
  let t: TestApp;
  const data = async <T>(url: string): Promise<T> => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/analytics/${url}`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(res.statusCode, url).toBe(200);
    return res.json<{ data: T }>().data;
  };
  interface Listed {
    events: {
      event_id: number;
      event_name: string;
      capacity_utilization: number | null;
      total_revenue: number;
    }[];
    total: number;
  }
  const names = async (query: string) =>
    (await data<Listed>(`events?${query}&limit=500`)).events.map((e) => e.event_name);

  beforeAll(async () => {
    t = await startTestApp({ store });
    await ingestHttp(t.app, t.token, [
      ...NAMES.map((name, i) => event(i + 1, name)),
      // Utilization 33.333… % and 33.334 %, revenue 10.004 and 10.001: equal once rounded.
      event(30, 'Small room', 3, 'tech'),
      event(31, 'Big hall', 100_000, 'tech'),
      ...confirmed({ id: 1, eventId: 30, quantity: 1, totalAmount: 10.004 }),
      ...confirmed({ id: 2, eventId: 31, quantity: 33_334, totalAmount: 10.001 }),
      ...confirmed({ id: 3, eventId: 1, quantity: 1, totalAmount: 12.5, currency: 'EUR' }),
    ]);
  });
  afterAll(async () => t.close());

  it('sorts names A to Z without accents or case, then as written', async () => {
    const musicByName = await names('category=music&sort=name');
    expect(musicByName).toEqual([
      '100% Pure_Fun',
      'Äpfel',
      'Apple',
      'apple',
      'aXb',
      'Café',
      'émoji 🎉',
      'Istanbul ıİ',
      'Straße',
      'Zebra',
    ]);
    expect(await names('category=music&sort=name&order=desc')).toEqual([...musicByName].reverse());
  });

  it.each([
    ['cafe', ['Café']],
    ['STRASSE', ['Straße']],
    ['%C4%B1STANBUL%20I%CC%87%C4%B0', ['Istanbul ıİ']],
    ['APF', ['Äpfel']],
    ['100%25', ['100% Pure_Fun']],
    ['a_b', []],
    ['%F0%9F%8E%89', ['émoji 🎉']],
  ])('finds q=%s as a literal piece of the name, without accents or case', async (q, expected) => {
    expect(await names(`q=${q}&sort=name`)).toEqual(expected);
  });

  it('takes a blank filter as no filter', async () => {
    const all = await data<Listed>('events?limit=500');
    expect(all.total).toBe(NAMES.length + 2);
    for (const blank of ['category=', 'status=', 'q=', 'category=&status=&q='])
      expect((await data<Listed>(`events?${blank}&limit=500`)).total, blank).toBe(all.total);
  });

  it('sorts a figure by its exact value, as the rankings do, though the rounded values tie', async () => {
    const tech = async (query: string) => (await data<Listed>(`events?category=tech&${query}`)).events;
    const byUtilization = await tech('sort=capacity_utilization');
    expect(byUtilization.map((e) => e.capacity_utilization)).toEqual([33.33, 33.33]);
    expect(byUtilization.map((e) => e.event_id)).toEqual([31, 30]);
    const top = await data<{ events: { event_id: number }[] }>('top-events?sort_by=utilization&limit=2');
    expect(top.events.map((e) => e.event_id)).toEqual([31, 30]);
    const byRevenue = await tech('sort=total_revenue&order=asc');
    expect(byRevenue.map((e) => e.total_revenue)).toEqual([10, 10]);
    expect(byRevenue.map((e) => e.event_id)).toEqual([31, 30]);
  });

  it("shows each top revenue event's money in other currencies on /revenue", async () => {
    const revenue = await data<{
      top_revenue_events: { event_id: number; other_currency_revenue: Record<string, number> }[];
    }>('revenue?as_of=2026-11-10');
    expect(revenue.top_revenue_events.slice(0, 3)).toEqual([
      expect.objectContaining({ event_id: 30, other_currency_revenue: {} }),
      expect.objectContaining({ event_id: 31, other_currency_revenue: {} }),
      // No revenue in the base currency, 12.50 in euros.
      expect.objectContaining({ event_id: 1, revenue: 0, other_currency_revenue: { EUR: 12.5 } }),
    ]);
  });
});
