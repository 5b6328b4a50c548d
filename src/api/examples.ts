/**
 * Example payloads for the OpenAPI document, taken from real responses (three events, two weeks of
 * bookings, one paid in EUR, as of 2025-06-14, 3-day windows). Untyped on purpose (schemas.ts
 * attaches them, so typing them by the schemas would be circular): test/integration/openapi.test.ts
 * checks each against its schema.
 */
export const META = {
  generated_at: '2025-06-14T18:02:11.204Z',
  as_of: '2025-06-14',
  data_version: 1842,
  cached: false,
};

export const EVENT_STATS = {
  event_id: 101,
  event_name: 'Jazz Night at the Blue Room',
  category: 'music',
  status: 'published',
  price: 45,
  event_date: '2025-07-04T18:00:00Z',
  created_at: '2025-05-05T18:00:00Z',
  total_capacity: 120,
  total_bookings: 6,
  confirmed_bookings: 5,
  cancelled_bookings: 1,
  expired_bookings: 0,
  pending_bookings: 0,
  tickets_sold: 10,
  capacity_utilization: 8.33,
  sell_through: 8.33,
  total_revenue: 360,
  cancellation_rate: 16.67,
  avg_booking_value: 90,
  first_booking: '2025-06-05T21:00:00Z',
  last_booking: '2025-06-13T21:00:00Z',
  other_currency_revenue: { EUR: 90 },
};

export const EVENTS = {
  events: [
    EVENT_STATS,
    {
      event_id: 102,
      event_name: 'Tech Summit 2025',
      category: 'conference',
      status: 'published',
      price: 199,
      event_date: '2025-07-29T18:00:00Z',
      created_at: '2025-05-10T18:00:00Z',
      total_capacity: 400,
      total_bookings: 6,
      confirmed_bookings: 5,
      cancelled_bookings: 1,
      expired_bookings: 0,
      pending_bookings: 0,
      tickets_sold: 5,
      capacity_utilization: 1.25,
      sell_through: 1.25,
      total_revenue: 995,
      cancellation_rate: 16.67,
      avg_booking_value: 199,
      first_booking: '2025-06-05T21:00:00Z',
      last_booking: '2025-06-12T21:00:00Z',
      other_currency_revenue: {},
    },
  ],
  total: 3,
  limit: 2,
  offset: 0,
  summary: {
    total_bookings: 18,
    total_revenue: 1755,
    avg_capacity_utilization: 14.31,
    avg_cancellation_rate: 16.67,
  },
};

const flows = (date: string, n: number, c: number, x: number, revenue: number) => ({
  date,
  new_bookings: n,
  confirmed_bookings: c,
  cancelled_bookings: x,
  expired_bookings: 0,
  total_revenue: revenue,
});

export const EVENT_DETAIL = {
  ...EVENT_STATS,
  daily: [
    flows('2025-06-12', 0, 0, 1, -90),
    flows('2025-06-13', 1, 1, 0, 90),
    flows('2025-06-14', 0, 0, 0, 0),
  ],
};

export const DAILY = {
  granularity: 'day',
  from: '2025-06-12',
  to: '2025-06-14',
  series: [
    {
      ...flows('2025-06-12', 2, 1, 1, 109),
      avg_booking_value: 199,
      total_bookings: 16,
      active_events: 3,
      new_users: 2,
      system_uptime: 100,
    },
    {
      ...flows('2025-06-13', 2, 2, 0, 190),
      avg_booking_value: 95,
      total_bookings: 18,
      active_events: 2,
      new_users: 1,
      system_uptime: 99.93,
    },
    {
      ...flows('2025-06-14', 0, 0, 0, 0),
      avg_booking_value: 0,
      total_bookings: 18,
      active_events: 0,
      new_users: 0,
      system_uptime: 100,
    },
  ],
};

export const BOOKING_TRENDS = {
  period: { from: '2025-06-12', to: '2025-06-14', days: 3, granularity: 'day' },
  total_bookings: 4,
  total_confirmed: 3,
  total_cancelled: 1,
  total_revenue: 299,
  cancellation_rate: 25,
  growth_rate: -33.33,
  daily_average: 1.33,
  daily_breakdown: DAILY.series,
};

export const REVENUE = {
  period_days: 3,
  from: '2025-06-12',
  to: '2025-06-14',
  total_revenue: 299,
  average_daily_revenue: 99.67,
  revenue_growth_rate: -49.15,
  top_revenue_events: [
    {
      event_id: 102,
      event_name: 'Tech Summit 2025',
      revenue: 995,
      avg_booking_value: 199,
      other_currency_revenue: {},
    },
    {
      event_id: 103,
      event_name: 'Stand-up Comedy Friday',
      revenue: 400,
      avg_booking_value: 100,
      other_currency_revenue: {},
    },
    {
      event_id: 101,
      event_name: 'Jazz Night at the Blue Room',
      revenue: 360,
      avg_booking_value: 90,
      other_currency_revenue: { EUR: 90 },
    },
  ],
  daily_revenue_breakdown: [
    { date: '2025-06-12', revenue: 109, bookings: 2 },
    { date: '2025-06-13', revenue: 190, bookings: 2 },
    { date: '2025-06-14', revenue: 0, bookings: 0 },
  ],
};

export const CAPACITY = {
  average_utilization: 14.31,
  total_events: 3,
  utilization_distribution: { high: 0, medium: 0, low: 3 },
  top_utilized_events: [
    { event_id: 103, event_name: 'Stand-up Comedy Friday', utilization: 33.33 },
    { event_id: 101, event_name: 'Jazz Night at the Blue Room', utilization: 8.33 },
    { event_id: 102, event_name: 'Tech Summit 2025', utilization: 1.25 },
  ],
  underutilized_events: [
    { event_id: 102, event_name: 'Tech Summit 2025', utilization: 1.25 },
    { event_id: 101, event_name: 'Jazz Night at the Blue Room', utilization: 8.33 },
    { event_id: 103, event_name: 'Stand-up Comedy Friday', utilization: 33.33 },
  ],
};

export const TOP_EVENTS = {
  events: [
    {
      event_id: 101,
      event_name: 'Jazz Night at the Blue Room',
      category: 'music',
      total_bookings: 6,
      total_revenue: 360,
      capacity_utilization: 8.33,
      booking_rank: 1,
      revenue_rank: 3,
      utilization_rank: 2,
    },
    {
      event_id: 102,
      event_name: 'Tech Summit 2025',
      category: 'conference',
      total_bookings: 6,
      total_revenue: 995,
      capacity_utilization: 1.25,
      booking_rank: 2,
      revenue_rank: 1,
      utilization_rank: 3,
    },
  ],
  total: 3,
  sort_by: 'bookings',
};

export const SYSTEM = {
  total_events: 3,
  total_bookings: 18,
  total_users: 17,
  total_revenue: 1755,
  other_currency_revenue: { EUR: 90 },
  recent_bookings: 18,
  recent_revenue: 1755,
  recent_events: 1,
  avg_capacity_utilization: 14.31,
  avg_cancellation_rate: 16.67,
  booking_growth_rate: null,
  revenue_growth_rate: null,
  system_uptime: 99.98,
};

export const OVERVIEW = {
  system_metrics: SYSTEM,
  recent_trends: {
    last_7_days: {
      bookings: 12,
      confirmed: 11,
      cancelled: 2,
      revenue: 1176,
      new_users: 11,
      daily_average_bookings: 1.71,
      cancellation_rate: 16.67,
    },
  },
  performance: {
    data_version: 1842,
    messages_processed: 41,
    messages_duplicate: 0,
    messages_ignored: 0,
    messages_rejected: 1,
    system_uptime: 99.98,
  },
};

export const DASHBOARD = {
  overview: OVERVIEW,
  top_events: TOP_EVENTS,
  daily_analytics: DAILY,
  booking_trends: BOOKING_TRENDS,
  capacity_utilization: CAPACITY,
  revenue_analytics: REVENUE,
};
