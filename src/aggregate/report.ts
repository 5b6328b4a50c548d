/**
 * Shapes stored aggregates into the figures of metrics.md: series filling, week/month buckets,
 * rates. Pure: rows in, payloads out.
 */
import { decimalToUnits, round2, unitsPerCount, unitsToAmount } from './money.ts';
import { addDays, daysBetween, isoUtc } from './time.ts';

export type Granularity = 'day' | 'week' | 'month';

export interface DayFlow {
  day: string;
  new_bookings: number;
  confirmed: number;
  cancelled: number;
  expired: number;
  /** Exact decimal text. */
  revenue: string;
  gross_confirmed: string;
  confirmed_base: number;
  new_users: number;
  active_events: number;
}

export interface DailyStats {
  date: string;
  new_bookings: number;
  confirmed_bookings: number;
  cancelled_bookings: number;
  expired_bookings: number;
  total_revenue: number;
  avg_booking_value: number;
  total_bookings: number;
  active_events: number;
  new_users: number;
  system_uptime: number | null;
}

/** 100 × (current − previous) / previous; null when there is no previous figure to compare with. */
export function growthRate(current: number, previous: number): number | null {
  if (previous === 0) return null;
  return round2((100 * (current - previous)) / previous);
}

export function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : round2((100 * part) / whole);
}

export function weekStart(date: string): string {
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDays(date, -((weekday + 6) % 7));
}

export function monthStart(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

export function periodStart(date: string, granularity: Granularity): string {
  return granularity === 'day' ? date : granularity === 'week' ? weekStart(date) : monthStart(date);
}

export function datesBetween(from: string, to: string): string[] {
  const n = daysBetween(from, to);
  return Array.from({ length: n + 1 }, (_, i) => addDays(from, i));
}

interface Accumulator {
  date: string;
  new_bookings: number;
  confirmed: number;
  cancelled: number;
  expired: number;
  /** Exact, in units of 1/10,000 (rounded once, on output). */
  revenue: bigint;
  gross: bigint;
  confirmedBase: number;
  newUsers: number;
  active: number;
  runningTotal: number;
  uptimeMinutes: number;
  uptimeSpan: number;
}

export interface SeriesInput {
  from: string;
  to: string;
  granularity: Granularity;
  flows: readonly DayFlow[];
  /** Bookings created before `from`. */
  bookingsBefore: number;
  /** For week/month: distinct active events per period start. */
  activeByPeriod?: ReadonlyMap<string, number>;
  /** Uptime per day: minutes with a heartbeat, and minutes of the day elapsed so far (0: future). */
  uptime?: (date: string) => { up: number; span: number };
}

/** A continuous series: days without activity appear with zeros; buckets are clipped to [from, to]. */
export function buildSeries(input: SeriesInput): DailyStats[] {
  const byDay = new Map(input.flows.map((f) => [f.day, f]));
  const buckets = new Map<string, Accumulator>();
  let running = input.bookingsBefore;
  for (const date of datesBetween(input.from, input.to)) {
    const key = periodStart(date, input.granularity);
    let acc = buckets.get(key);
    if (!acc) {
      acc = {
        date: key,
        new_bookings: 0,
        confirmed: 0,
        cancelled: 0,
        expired: 0,
        revenue: 0n,
        gross: 0n,
        confirmedBase: 0,
        newUsers: 0,
        active: input.granularity === 'day' ? 0 : (input.activeByPeriod?.get(key) ?? 0),
        runningTotal: running,
        uptimeMinutes: 0,
        uptimeSpan: 0,
      };
      buckets.set(key, acc);
    }
    const f = byDay.get(date);
    if (f) {
      acc.new_bookings += f.new_bookings;
      acc.confirmed += f.confirmed;
      acc.cancelled += f.cancelled;
      acc.expired += f.expired;
      acc.revenue += decimalToUnits(f.revenue);
      acc.gross += decimalToUnits(f.gross_confirmed);
      acc.confirmedBase += f.confirmed_base;
      acc.newUsers += f.new_users;
      if (input.granularity === 'day') acc.active = f.active_events;
      running += f.new_bookings;
    }
    acc.runningTotal = running;
    const up = input.uptime?.(date);
    if (up) {
      acc.uptimeMinutes += up.up;
      acc.uptimeSpan += up.span;
    }
  }
  return [...buckets.values()].map((a) => ({
    date: a.date,
    new_bookings: a.new_bookings,
    confirmed_bookings: a.confirmed,
    cancelled_bookings: a.cancelled,
    expired_bookings: a.expired,
    total_revenue: unitsToAmount(a.revenue),
    avg_booking_value: unitsPerCount(a.gross, a.confirmedBase),
    total_bookings: a.runningTotal,
    active_events: a.active,
    new_users: a.newUsers,
    system_uptime: input.uptime
      ? a.uptimeSpan === 0
        ? null
        : round2((100 * a.uptimeMinutes) / a.uptimeSpan)
      : null,
  }));
}

export interface EventStatsRow {
  event_id: number;
  event_name: string;
  category: string | null;
  total_capacity: number;
  price: number | null;
  status: string | null;
  event_date: number | null;
  created_at: number | null;
  total_bookings: number;
  confirmed_bookings: number;
  cancelled_bookings: number;
  expired_bookings: number;
  pending_bookings: number;
  tickets_sold: number;
  capacity_utilization: number | null;
  sell_through: number | null;
  total_revenue: number;
  cancellation_rate: number;
  avg_booking_value: number;
  first_booking: number | null;
  last_booking: number | null;
  other_currency_revenue: Record<string, number> | string;
}

/** A currency → amount object as the database hands it over (text from some drivers). */
export function currencyAmounts(value: Record<string, number> | string): Record<string, number> {
  return typeof value === 'string' ? (JSON.parse(value) as Record<string, number>) : value;
}

export function toEventStats(row: EventStatsRow) {
  return {
    event_id: row.event_id,
    event_name: row.event_name,
    category: row.category,
    status: row.status,
    price: row.price === null ? null : round2(row.price),
    event_date: row.event_date === null ? null : isoUtc(row.event_date),
    created_at: row.created_at === null ? null : isoUtc(row.created_at),
    total_capacity: row.total_capacity,
    total_bookings: row.total_bookings,
    confirmed_bookings: row.confirmed_bookings,
    cancelled_bookings: row.cancelled_bookings,
    expired_bookings: row.expired_bookings,
    pending_bookings: row.pending_bookings,
    tickets_sold: row.tickets_sold,
    capacity_utilization: row.capacity_utilization,
    sell_through: row.sell_through,
    total_revenue: row.total_revenue,
    cancellation_rate: row.cancellation_rate,
    avg_booking_value: row.avg_booking_value,
    first_booking: row.first_booking === null ? null : isoUtc(row.first_booking),
    last_booking: row.last_booking === null ? null : isoUtc(row.last_booking),
    other_currency_revenue: currencyAmounts(row.other_currency_revenue),
  };
}

export type EventStats = ReturnType<typeof toEventStats>;

/** The exact revenue of these flows, in units (a window's total is not the sum of rounded days). */
export function revenueUnits(flows: readonly Pick<DayFlow, 'revenue'>[]): bigint {
  return flows.reduce((sum, f) => sum + decimalToUnits(f.revenue), 0n);
}
