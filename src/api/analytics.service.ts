/**
 * Every analytics payload of api.md, composed from read queries and the pure report functions.
 * No HTTP here: handlers pass validated parameters in and get plain payloads out.
 */
import { round2, unitsGrowthRate, unitsPerCount, unitsToAmount } from '../aggregate/money.ts';
import {
  buildSeries,
  currencyAmounts,
  growthRate,
  percent,
  toEventStats,
  revenueUnits,
  type DailyStats,
  type DayFlow,
  type EventStats,
  type Granularity,
} from '../aggregate/report.ts';
import { addDays, daysBetween, localMidnightUtc } from '../aggregate/time.ts';
import type { Db } from '../platform/db.ts';
import * as rankings from '../store/rankings.repository.ts';
import * as read from '../store/read.repository.ts';
import * as seriesReads from '../store/series.repository.ts';
import { heartbeatMinutes } from '../store/uptime.repository.ts';
import { NotFoundError } from './errors.ts';

export interface ReadContext {
  /** The date every rolling window ends on (YYYY-MM-DD). */
  asOf: string;
  /** The zone days are bucketed in. */
  tz: string;
}

export interface Window {
  from: string;
  to: string;
}

export function windowOf(ctx: ReadContext, days: number): Window {
  return { from: addDays(ctx.asOf, -(days - 1)), to: ctx.asOf };
}

function previousWindow(w: Window): Window {
  const days = daysBetween(w.from, w.to) + 1;
  return { from: addDays(w.from, -days), to: addDays(w.from, -1) };
}

export interface AnalyticsService {
  events(
    ctx: ReadContext,
    q: {
      filter: read.EventFilter;
      sort: read.EventSortField;
      order: 'asc' | 'desc';
      limit: number;
      offset: number;
    },
  ): Promise<unknown>;
  event(ctx: ReadContext, eventId: number, w: Window, granularity: Granularity): Promise<unknown>;
  daily(
    ctx: ReadContext,
    w: Window,
    granularity: Granularity,
  ): Promise<{ granularity: Granularity; from: string; to: string; series: DailyStats[] }>;
  bookingTrends(ctx: ReadContext, w: Window, granularity: Granularity): Promise<unknown>;
  revenue(ctx: ReadContext, w: Window): Promise<unknown>;
  capacity(): Promise<unknown>;
  topEvents(sortBy: rankings.RankBy, limit: number): Promise<unknown>;
  system(ctx: ReadContext): Promise<Record<string, unknown>>;
  overview(ctx: ReadContext): Promise<unknown>;
  dashboard(ctx: ReadContext, w: Window): Promise<unknown>;
}

/** Reads shared by the parts of one answer, keyed by what they read. */
type Memo = Map<string, Promise<unknown>>;

function once<T>(memo: Memo, key: string, read: () => Promise<T>): Promise<T> {
  let pending = memo.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = read();
    memo.set(key, pending);
  }
  return pending;
}

export function createAnalyticsService(deps: {
  db: Db;
  dayZone: () => string;
  now?: () => number;
}): AnalyticsService {
  const { db } = deps;
  const now = deps.now ?? Date.now;

  /** Uptime of each local day: heartbeat minutes over the whole minutes of the day elapsed so far. */
  function uptimeFn(
    ctx: ReadContext,
    w: Window,
    memo: Memo,
  ): Promise<(date: string) => { up: number; span: number }> {
    return once(memo, `uptime|${ctx.tz}|${w.from}|${w.to}`, () => readUptime(ctx, w));
  }

  async function readUptime(
    ctx: ReadContext,
    w: Window,
  ): Promise<(date: string) => { up: number; span: number }> {
    const current = now();
    // Whole minutes only, on both sides: the minute under way counts once it is over.
    const minutes = await heartbeatMinutes(db, w.from, w.to, ctx.tz, Math.floor(current / 60_000));
    return (date) => {
      const start = localMidnightUtc(date, ctx.tz);
      const end = Math.min(localMidnightUtc(addDays(date, 1), ctx.tz), current);
      const span = Math.max(0, Math.floor((end - start) / 60_000));
      return { up: Math.min(minutes.get(date) ?? 0, span), span };
    };
  }

  function dayFlows(ctx: ReadContext, w: Window, memo: Memo): Promise<DayFlow[]> {
    return once(memo, `flows|${ctx.tz}|${w.from}|${w.to}`, () =>
      seriesReads.dayFlows(db, w.from, w.to, ctx.tz, deps.dayZone()),
    );
  }

  function series(ctx: ReadContext, w: Window, granularity: Granularity, memo: Memo): Promise<DailyStats[]> {
    return once(memo, `series|${ctx.tz}|${w.from}|${w.to}|${granularity}`, () =>
      readSeries(ctx, w, granularity, memo),
    );
  }

  async function readSeries(
    ctx: ReadContext,
    w: Window,
    granularity: Granularity,
    memo: Memo,
  ): Promise<DailyStats[]> {
    const zone = deps.dayZone();
    const [flows, before, activeByPeriod, uptime] = await Promise.all([
      dayFlows(ctx, w, memo),
      seriesReads.bookingsCreatedBefore(db, w.from, ctx.tz, zone),
      granularity === 'day'
        ? undefined
        : seriesReads.activeEventsByPeriod(db, w.from, w.to, ctx.tz, zone, granularity),
      uptimeFn(ctx, w, memo),
    ]);
    return buildSeries({
      from: w.from,
      to: w.to,
      granularity,
      flows,
      bookingsBefore: before,
      ...(activeByPeriod ? { activeByPeriod } : {}),
      uptime,
    });
  }

  /** Sums of a window's daily flows (no series materialized for the caller). */
  async function windowTotals(ctx: ReadContext, w: Window, memo: Memo) {
    const [days, flows, uptimeOf] = await Promise.all([
      series(ctx, w, 'day', memo),
      dayFlows(ctx, w, memo),
      uptimeFn(ctx, w, memo),
    ]);
    const sum = (f: (d: DailyStats) => number) => days.reduce((acc, d) => acc + f(d), 0);
    // Over the window: minutes up / minutes elapsed (today counts only its minutes so far).
    let up = 0;
    let span = 0;
    for (const d of days) {
      const u = uptimeOf(d.date);
      up += u.up;
      span += u.span;
    }
    const exactRevenue = revenueUnits(flows);
    return {
      days,
      bookings: sum((d) => d.new_bookings),
      cancelled: sum((d) => d.cancelled_bookings),
      confirmed: sum((d) => d.confirmed_bookings),
      revenue: unitsToAmount(exactRevenue),
      revenueUnits: exactRevenue,
      newUsers: sum((d) => d.new_users),
      uptime: span === 0 ? null : round2((100 * up) / span),
    };
  }

  function totals(memo: Memo): Promise<read.SystemRow> {
    return once(memo, 'totals', () => read.systemTotals(db));
  }

  async function system(ctx: ReadContext, memo: Memo = new Map()): Promise<Record<string, unknown>> {
    const w = windowOf(ctx, 30);
    const [totalsRow, current, previous, recentEvents] = await Promise.all([
      totals(memo),
      windowTotals(ctx, w, memo),
      windowTotals(ctx, previousWindow(w), memo),
      read.countEventsCreatedBetween(db, w.from, w.to, ctx.tz),
    ]);
    return {
      total_events: totalsRow.total_events,
      total_bookings: totalsRow.total_bookings,
      total_users: totalsRow.total_users,
      total_revenue: totalsRow.total_revenue,
      other_currency_revenue: currencyAmounts(totalsRow.other_currency_revenue),
      recent_bookings: current.bookings,
      recent_revenue: current.revenue,
      recent_events: recentEvents,
      avg_capacity_utilization: totalsRow.avg_capacity_utilization,
      avg_cancellation_rate: totalsRow.avg_cancellation_rate,
      booking_growth_rate: growthRate(current.bookings, previous.bookings),
      revenue_growth_rate: unitsGrowthRate(current.revenueUnits, previous.revenueUnits),
      system_uptime: current.uptime,
    };
  }

  async function revenue(ctx: ReadContext, w: Window, memo: Memo = new Map()) {
    const days = daysBetween(w.from, w.to) + 1;
    const [current, previous, top] = await Promise.all([
      windowTotals(ctx, w, memo),
      windowTotals(ctx, previousWindow(w), memo),
      rankings.rankedEvents(db, 'revenue', 10),
    ]);
    return {
      period_days: days,
      from: w.from,
      to: w.to,
      total_revenue: current.revenue,
      average_daily_revenue: unitsPerCount(current.revenueUnits, days),
      revenue_growth_rate: unitsGrowthRate(current.revenueUnits, previous.revenueUnits),
      top_revenue_events: top.rows.map((e) => ({
        event_id: e.event_id,
        event_name: e.event_name,
        revenue: e.total_revenue,
        avg_booking_value: e.avg_booking_value,
        other_currency_revenue: currencyAmounts(e.other_currency_revenue),
      })),
      daily_revenue_breakdown: current.days.map((d) => ({
        date: d.date,
        revenue: d.total_revenue,
        bookings: d.new_bookings,
      })),
    };
  }

  async function capacity() {
    const [summary, top, under] = await Promise.all([
      read.capacitySummary(db),
      read.utilizationList(db, 'top', 10),
      read.utilizationList(db, 'under', 10),
    ]);
    return {
      average_utilization: summary.average_utilization,
      total_events: summary.total_events,
      utilization_distribution: { high: summary.high, medium: summary.medium, low: summary.low },
      top_utilized_events: top,
      underutilized_events: under,
    };
  }

  async function topEvents(sortBy: rankings.RankBy, limit: number) {
    const { rows, total } = await rankings.rankedEvents(db, sortBy, limit);
    return {
      events: rows.map((e) => ({
        event_id: e.event_id,
        event_name: e.event_name,
        category: e.category,
        total_bookings: e.total_bookings,
        total_revenue: e.total_revenue,
        capacity_utilization: e.capacity_utilization,
        booking_rank: e.booking_rank,
        revenue_rank: e.revenue_rank,
        utilization_rank: e.utilization_rank,
      })),
      total,
      sort_by: sortBy,
    };
  }

  async function bookingTrends(
    ctx: ReadContext,
    w: Window,
    granularity: Granularity,
    memo: Memo = new Map(),
  ) {
    const [current, previous] = await Promise.all([
      windowTotals(ctx, w, memo),
      windowTotals(ctx, previousWindow(w), memo),
    ]);
    const days = daysBetween(w.from, w.to) + 1;
    return {
      period: { from: w.from, to: w.to, days, granularity },
      total_bookings: current.bookings,
      total_confirmed: current.confirmed,
      total_cancelled: current.cancelled,
      total_revenue: current.revenue,
      cancellation_rate: percent(current.cancelled, current.bookings),
      growth_rate: growthRate(current.bookings, previous.bookings),
      daily_average: round2(current.bookings / days),
      daily_breakdown: granularity === 'day' ? current.days : await series(ctx, w, granularity, memo),
    };
  }

  async function overview(ctx: ReadContext, memo: Memo = new Map()) {
    const [systemMetrics, week, totalsRow] = await Promise.all([
      system(ctx, memo),
      windowTotals(ctx, windowOf(ctx, 7), memo),
      totals(memo),
    ]);
    return {
      system_metrics: systemMetrics,
      recent_trends: {
        last_7_days: {
          bookings: week.bookings,
          confirmed: week.confirmed,
          cancelled: week.cancelled,
          revenue: week.revenue,
          new_users: week.newUsers,
          daily_average_bookings: round2(week.bookings / 7),
          cancellation_rate: percent(week.cancelled, week.bookings),
        },
      },
      performance: {
        data_version: totalsRow.data_version,
        messages_processed: totalsRow.processed,
        messages_duplicate: totalsRow.duplicates,
        messages_ignored: totalsRow.ignored,
        messages_rejected: totalsRow.rejected,
        system_uptime: systemMetrics.system_uptime,
      },
    };
  }

  return {
    async events(_ctx, q) {
      const { rows, total, summary } = await read.listEvents(
        db,
        q.filter,
        q.sort,
        q.order,
        q.limit,
        q.offset,
      );
      return { events: rows.map(toEventStats), total, limit: q.limit, offset: q.offset, summary };
    },
    async event(ctx, eventId, w, granularity) {
      const row = await read.findEvent(db, eventId);
      if (!row || row.deleted) throw new NotFoundError(`event ${eventId} not found`);
      const flows = await seriesReads.dayFlows(db, w.from, w.to, ctx.tz, deps.dayZone(), eventId);
      const daily = buildSeries({ from: w.from, to: w.to, granularity, flows, bookingsBefore: 0 }).map(
        (d) => ({
          date: d.date,
          new_bookings: d.new_bookings,
          confirmed_bookings: d.confirmed_bookings,
          cancelled_bookings: d.cancelled_bookings,
          expired_bookings: d.expired_bookings,
          total_revenue: d.total_revenue,
        }),
      );
      const stats: EventStats = toEventStats(row);
      return { ...stats, daily };
    },
    async daily(ctx, w, granularity) {
      return { granularity, from: w.from, to: w.to, series: await series(ctx, w, granularity, new Map()) };
    },
    bookingTrends,
    revenue,
    capacity,
    topEvents,
    system,
    overview,
    async dashboard(ctx, w) {
      // One memo for the whole answer: its parts ask for the same windows (the 30-day series
      // four times), which are read once.
      const memo: Memo = new Map();
      const [ov, top, daily, trends, cap, rev] = await Promise.all([
        overview(ctx, memo),
        topEvents('bookings', 10),
        series(ctx, w, 'day', memo),
        bookingTrends(ctx, w, 'day', memo),
        capacity(),
        revenue(ctx, w, memo),
      ]);
      return {
        overview: ov,
        top_events: top,
        daily_analytics: { granularity: 'day', from: w.from, to: w.to, series: daily },
        booking_trends: trends,
        capacity_utilization: cap,
        revenue_analytics: rev,
      };
    },
  };
}
