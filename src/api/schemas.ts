/**
 * Response schemas shared by routes; they drive the OpenAPI document.
 *
 * The analytics payloads are sent pre-serialized (see respond.ts), so their schemas only document;
 * routes that return objects are serialized through theirs (operations.schemas.ts), so those are
 * open (`additionalProperties: true`) and never strip a field the handler returns.
 */
import { Type, type TSchema } from '@fastify/type-provider-typebox';
import * as example from './examples.ts';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    request_id: Type.String(),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);

export const problemRef = (description: string) => Type.Unsafe({ $ref: 'Problem#', description });

export const errorResponses = {
  400: problemRef('A parameter is invalid; the detail names it and its allowed range'),
  401: problemRef('Missing, invalid or expired token, or a disabled user'),
  403: problemRef('The token lacks the admin role'),
  404: problemRef('Unknown resource'),
  429: problemRef('Rate limit exceeded; see Retry-After'),
  503: problemRef('A dependency is down and no usable data is cached; see Retry-After'),
};

/** The POSTs that read no body still refuse a big one (the app's 1 MiB limit). */
export const bodyIgnored = {
  413: problemRef('The request body is over 1 MiB (this route reads none: send it empty)'),
};

export const MetaSchema = Type.Object({
  generated_at: Type.String({ format: 'date-time' }),
  as_of: Type.String({
    format: 'date',
    description: 'The day the figures are as of (today in the zone unless as_of was given)',
  }),
  data_version: Type.Integer(),
  cached: Type.Boolean(),
  stale: Type.Optional(Type.Boolean()),
});

/** The success envelope around `data`; its example wraps the data schema's first example. */
export function envelopeSchema(
  name: string,
  data: TSchema = Type.Object({}, { additionalProperties: true }),
) {
  const examples = (data as { examples?: unknown[] }).examples;
  return Type.Object(
    { success: Type.Literal(true), data, meta: MetaSchema },
    {
      description: `The ${name} payload in the success envelope`,
      ...(examples?.[0] === undefined
        ? {}
        : { examples: [{ success: true, data: examples[0], meta: example.META }] }),
    },
  );
}

/**
 * OpenAPI 3.0 takes one `example` per schema, where JSON Schema has `examples`. @fastify/swagger
 * converts them itself, except in responses declared per content type: those go through this.
 */
function singleExamples(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(singleExamples);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'examples' && Array.isArray(value)) out.example = value[0];
    else out[key] = key === 'example' || key === 'default' || key === 'const' ? value : singleExamples(value);
  }
  return out;
}

/** A 200 that is JSON by default and CSV (the rows of its list or series) when asked for. */
export function withCsv(json: TSchema, rows: string) {
  const { example: envelope, ...schema } = singleExamples(json) as Record<string, unknown>;
  return {
    description: `JSON envelope; with \`Accept: text/csv\` or \`format=csv\`, ${rows} as CSV (header row first)`,
    content: {
      'application/json': { schema, ...(envelope === undefined ? {} : { example: envelope }) },
      'text/csv': { schema: Type.String({ description: `${rows}, one row each` }) },
    },
  };
}

// ---- Analytics payloads (api.md, metrics.md) ----

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Int = (description?: string) => Type.Integer(description ? { description } : {});
const Num = (description?: string) => Type.Number(description ? { description } : {});
const Day = Type.String({ format: 'date', description: 'YYYY-MM-DD in the requested zone' });
const Instant = Nullable(Type.String({ format: 'date-time' }));
const Percent = (description: string) => Type.Number({ description: `${description} (0-100, 2 decimals)` });
const Growth = Nullable(
  Type.Number({ description: 'Percent change against the previous window; null when it had none' }),
);
const Uptime = Nullable(
  Type.Number({ description: 'Percent of minutes with a running instance; null when unknown' }),
);
const Granularity = Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')]);

const eventStatsProperties = {
  event_id: Int(),
  event_name: Type.String(),
  category: Nullable(Type.String()),
  status: Nullable(Type.String()),
  price: Nullable(Num()),
  event_date: Instant,
  created_at: Instant,
  total_capacity: Int('0 when unknown'),
  total_bookings: Int('Bookings of the event, any status'),
  confirmed_bookings: Int(),
  cancelled_bookings: Int(),
  expired_bookings: Int(),
  pending_bookings: Int(),
  tickets_sold: Int('Sum of quantity over confirmed bookings'),
  capacity_utilization: Nullable(
    Percent('Seats held (pending + confirmed) over capacity; not capped; null when capacity is 0'),
  ),
  sell_through: Nullable(Percent('Tickets sold over capacity; null when capacity is 0')),
  total_revenue: Num('Confirmed bookings, base currency'),
  cancellation_rate: Percent('Cancelled over all bookings'),
  avg_booking_value: Num('Revenue per confirmed base-currency booking'),
  first_booking: Instant,
  last_booking: Instant,
  other_currency_revenue: Type.Record(Type.String(), Type.Number(), {
    description: 'Currency → confirmed amount, never added to total_revenue',
  }),
};

export const EventStatsSchema = Type.Object(eventStatsProperties, {
  title: 'EventStats',
  examples: [example.EVENT_STATS],
});

export const DailyStatsSchema = Type.Object(
  {
    date: Type.String({ format: 'date', description: 'The day, or the first day of the week/month bucket' }),
    new_bookings: Int(),
    confirmed_bookings: Int(),
    cancelled_bookings: Int(),
    expired_bookings: Int(),
    total_revenue: Num('Net flow: confirmed minus refunded confirmed amounts'),
    avg_booking_value: Num(),
    total_bookings: Int('Running total of bookings created'),
    active_events: Int(),
    new_users: Int(),
    system_uptime: Uptime,
  },
  { title: 'DailyStats', examples: [example.DAILY.series[0]] },
);

export const EventsSchema = Type.Object(
  {
    events: Type.Array(EventStatsSchema),
    total: Int('Matching events before paging'),
    limit: Int(),
    offset: Int(),
    summary: Type.Object({
      total_bookings: Int(),
      total_revenue: Num(),
      avg_capacity_utilization: Num(),
      avg_cancellation_rate: Num(),
    }),
  },
  { examples: [example.EVENTS] },
);

export const EventDetailSchema = Type.Object(
  {
    ...eventStatsProperties,
    daily: Type.Array(
      Type.Object({
        date: Day,
        new_bookings: Int(),
        confirmed_bookings: Int(),
        cancelled_bookings: Int(),
        expired_bookings: Int(),
        total_revenue: Num(),
      }),
      {
        description:
          'One entry per day of the window, or per week (from Monday) or month with `granularity`; `date` is the period start, periods clipped to the window.',
      },
    ),
  },
  { examples: [example.EVENT_DETAIL] },
);

export const DailySchema = Type.Object(
  { granularity: Granularity, from: Day, to: Day, series: Type.Array(DailyStatsSchema) },
  { examples: [example.DAILY] },
);

export const BookingTrendsSchema = Type.Object(
  {
    period: Type.Object({ from: Day, to: Day, days: Int(), granularity: Granularity }),
    total_bookings: Int(),
    total_confirmed: Int(),
    total_cancelled: Int(),
    total_revenue: Num(),
    cancellation_rate: Percent('Cancellations over new bookings in the window'),
    growth_rate: Growth,
    daily_average: Num('New bookings per day'),
    daily_breakdown: Type.Array(DailyStatsSchema),
  },
  { examples: [example.BOOKING_TRENDS] },
);

export const RevenueSchema = Type.Object(
  {
    period_days: Int(),
    from: Day,
    to: Day,
    total_revenue: Num(),
    average_daily_revenue: Num(),
    revenue_growth_rate: Growth,
    top_revenue_events: Type.Array(
      Type.Object({
        event_id: Int(),
        event_name: Type.String(),
        revenue: Num(),
        avg_booking_value: Num(),
        other_currency_revenue: Type.Record(Type.String(), Type.Number(), {
          description: "The event's confirmed amounts in other currencies, all time; never added to revenue",
        }),
      }),
      { description: 'Top 10 by all-time revenue (base currency)' },
    ),
    daily_revenue_breakdown: Type.Array(
      Type.Object({ date: Day, revenue: Num(), bookings: Int('New bookings') }),
    ),
  },
  { examples: [example.REVENUE] },
);

const Utilization = Type.Object({ event_id: Int(), event_name: Type.String(), utilization: Num() });

export const CapacitySchema = Type.Object(
  {
    average_utilization: Num(),
    total_events: Int('Live events with capacity > 0'),
    utilization_distribution: Type.Object({
      high: Int('≥ 80'),
      medium: Int('≥ 50 and < 80'),
      low: Int('< 50'),
    }),
    top_utilized_events: Type.Array(Utilization),
    underutilized_events: Type.Array(Utilization, { description: 'Utilization < 50, lowest first' }),
  },
  { examples: [example.CAPACITY] },
);

export const TopEventsSchema = Type.Object(
  {
    events: Type.Array(
      Type.Object({
        event_id: Int(),
        event_name: Type.String(),
        category: Nullable(Type.String()),
        total_bookings: Int(),
        total_revenue: Num(),
        capacity_utilization: Nullable(Num()),
        booking_rank: Int(),
        revenue_rank: Int(),
        utilization_rank: Int(),
      }),
    ),
    total: Int('Live events'),
    sort_by: Type.Union([Type.Literal('bookings'), Type.Literal('revenue'), Type.Literal('utilization')]),
  },
  { examples: [example.TOP_EVENTS] },
);

export const SystemMetricsSchema = Type.Object(
  {
    total_events: Int(),
    total_bookings: Int(),
    total_users: Int(),
    total_revenue: Num('Confirmed bookings, base currency'),
    other_currency_revenue: Type.Record(Type.String(), Type.Number(), {
      description:
        'Currency → confirmed amount over every booking in that currency, never added to total_revenue; {} when none',
    }),
    recent_bookings: Int('Created in the 30 days ending on as_of'),
    recent_revenue: Num(),
    recent_events: Int(),
    avg_capacity_utilization: Num(),
    avg_cancellation_rate: Num(),
    booking_growth_rate: Growth,
    revenue_growth_rate: Growth,
    system_uptime: Uptime,
  },
  { title: 'SystemMetrics', examples: [example.SYSTEM] },
);

export const OverviewSchema = Type.Object(
  {
    system_metrics: SystemMetricsSchema,
    recent_trends: Type.Object({
      last_7_days: Type.Object({
        bookings: Int(),
        confirmed: Int(),
        cancelled: Int(),
        revenue: Num(),
        new_users: Int(),
        daily_average_bookings: Num(),
        cancellation_rate: Num(),
      }),
    }),
    performance: Type.Object({
      data_version: Int(),
      messages_processed: Int(),
      messages_duplicate: Int(),
      messages_ignored: Int(),
      messages_rejected: Int(),
      system_uptime: Uptime,
    }),
  },
  { examples: [example.OVERVIEW] },
);

export const DashboardSchema = Type.Object(
  {
    overview: OverviewSchema,
    top_events: TopEventsSchema,
    daily_analytics: DailySchema,
    booking_trends: BookingTrendsSchema,
    capacity_utilization: CapacitySchema,
    revenue_analytics: RevenueSchema,
  },
  { examples: [example.DASHBOARD] },
);
