/**
 * Every figure the service reports, read through the HTTP API into one comparable snapshot:
 * system, the full events list, daily/weekly/monthly series (in the reporting zone, from the day
 * tables, and in another zone, from the quarter-hour tables and activity masks), the three
 * rankings, capacity and revenue. Two snapshots are equal exactly when every figure is.
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { getData } from './conformance.ts';

export interface FigureWindow {
  from: string;
  to: string;
  asOf: string;
}

export type Figures = Record<string, unknown>;

const BASE = '/api/v1/analytics';
/** A zone no test app reports in, with a half-hour offset. */
const ELSEWHERE = 'Asia/Kolkata';

export async function readFigures(app: FastifyInstance, token: string, w: FigureWindow): Promise<Figures> {
  const get = (url: string) => getData(app, token, `${BASE}${url}`);
  const range = `from=${w.from}&to=${w.to}&as_of=${w.asOf}`;
  const [
    system,
    events,
    day,
    week,
    month,
    dayElsewhere,
    weekElsewhere,
    byBookings,
    byRevenue,
    byUtilization,
    capacity,
    revenue30,
    revenue7,
  ] = await Promise.all([
    get(`/system?as_of=${w.asOf}`),
    get(`/events?as_of=${w.asOf}&sort=event_id&order=asc&limit=500`),
    get(`/daily?${range}&granularity=day`),
    get(`/daily?${range}&granularity=week`),
    get(`/daily?${range}&granularity=month`),
    get(`/daily?${range}&granularity=day&tz=${ELSEWHERE}`),
    get(`/daily?${range}&granularity=week&tz=${ELSEWHERE}`),
    get('/top-events?sort_by=bookings&limit=50'),
    get('/top-events?sort_by=revenue&limit=50'),
    get('/top-events?sort_by=utilization&limit=50'),
    get('/capacity'),
    get(`/revenue?days=30&as_of=${w.asOf}`),
    get(`/revenue?days=7&as_of=${w.asOf}`),
  ]);
  // "Every event": a snapshot that silently lost events to paging would compare too little.
  expect((events.events as unknown[]).length).toBe(events.total);
  return {
    system,
    events,
    daily: { day: day.series, week: week.series, month: month.series },
    daily_elsewhere: { day: dayElsewhere.series, week: weekElsewhere.series },
    top_events: { bookings: byBookings, revenue: byRevenue, utilization: byUtilization },
    capacity,
    revenue_30: revenue30,
    revenue_7: revenue7,
  };
}
