/** The analytics read endpoints (api.md): thin handlers over AnalyticsService. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EVENT_SORT_FIELDS, type EventSortField } from '../store/read.repository.ts';
import type { AnalyticsService } from './analytics.service.ts';
import { Common, Days, Format, FromTo, Range, querySchema, readContext, resolveWindow } from './params.ts';
import { csvOf } from './csv.ts';
import { serveRead, type ReadState } from './respond.ts';
import {
  BookingTrendsSchema,
  CapacitySchema,
  DailySchema,
  DashboardSchema,
  envelopeSchema,
  errorResponses,
  EventDetailSchema,
  EventsSchema,
  OverviewSchema,
  RevenueSchema,
  SystemMetricsSchema,
  TopEventsSchema,
  withCsv,
} from './schemas.ts';

/** The columns of each list endpoint's CSV: its items' schema, so an empty list still has its header. */
const CSV = {
  EVENTS: csvOf(EventsSchema, 'events'),
  DAILY: csvOf(DailySchema, 'series'),
  TRENDS: csvOf(BookingTrendsSchema, 'daily_breakdown'),
  REVENUE: csvOf(RevenueSchema, 'daily_revenue_breakdown'),
  TOP: csvOf(TopEventsSchema, 'events'),
} as const;

export interface AnalyticsRoutesOptions {
  service: AnalyticsService;
  state: ReadState;
  defaultZone: string;
}

const tags = ['analytics'];
const security = [{ bearerAuth: [] }];

export const analyticsRoutes: FastifyPluginAsyncTypebox<AnalyticsRoutesOptions> = async (app, opts) => {
  const { service, state, defaultZone } = opts;

  app.get(
    '/dashboard',
    {
      schema: {
        tags,
        security,
        summary: 'Everything the dashboard shows, in one call',
        querystring: querySchema({ ...Common, ...Days, ...FromTo }),
        response: { 200: envelopeSchema('dashboard', DashboardSchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      const window = resolveWindow(ctx, req.query);
      return serveRead(state, req, reply, {
        window,
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.dashboard(ctx, window),
      });
    },
  );

  app.get(
    '/events',
    {
      schema: {
        tags,
        security,
        summary: 'Per-event figures, filtered, sorted and paged',
        querystring: querySchema({
          ...Common,
          ...Format,
          category: Type.Optional(
            Type.String({ maxLength: 100, description: 'Exactly this category; blank: any.' }),
          ),
          status: Type.Optional(
            Type.String({ maxLength: 50, description: 'Exactly this status; blank: any.' }),
          ),
          q: Type.Optional(
            Type.String({
              maxLength: 100,
              description:
                'A piece of the event name, taken literally, ignoring accents and case; blank: any.',
            }),
          ),
          sort: Type.Optional(
            Type.Union(
              [...EVENT_SORT_FIELDS, 'name'].map((f) => Type.Literal(f)),
              {
                default: 'total_bookings',
                description:
                  '`name` is short for `event_name` (A to Z without accents or case, then as written). ' +
                  'A figure sorts by its exact value, not the rounded one shown. Ties: event_id ascending.',
              },
            ),
          ),
          order: Type.Optional(
            Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
              description: 'Default: asc (A to Z) by name, desc (largest first) by a figure.',
            }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
        }),
        response: { 200: withCsv(envelopeSchema('events', EventsSchema), 'the events'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const ctx = readContext(q, defaultZone);
      const sort = (q.sort === 'name' ? 'event_name' : (q.sort ?? 'total_bookings')) as EventSortField;
      const query = {
        filter: { category: q.category, status: q.status, q: q.q },
        sort,
        order: q.order ?? (sort === 'event_name' ? 'asc' : 'desc'),
        limit: q.limit ?? 50,
        offset: q.offset ?? 0,
      };
      return serveRead(state, req, reply, {
        ctx,
        minVersion: q.min_version,
        compute: () => service.events(ctx, query),
        csv: CSV.EVENTS,
      });
    },
  );

  app.get(
    '/events/:event_id',
    {
      schema: {
        tags,
        security,
        summary: 'One event: its figures and its daily (or weekly, monthly) flows',
        params: Type.Object({ event_id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) }),
        querystring: querySchema({ ...Common, ...Days, ...Range }),
        response: { 200: envelopeSchema('event', EventDetailSchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      const window = resolveWindow(ctx, req.query);
      return serveRead(state, req, reply, {
        window,
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.event(ctx, req.params.event_id, window, req.query.granularity ?? 'day'),
      });
    },
  );

  app.get(
    '/daily',
    {
      schema: {
        tags,
        security,
        summary: 'Daily, weekly or monthly series in any time zone',
        querystring: querySchema({ ...Common, ...Days, ...Range, ...Format }),
        response: { 200: withCsv(envelopeSchema('daily', DailySchema), 'the series'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      const window = resolveWindow(ctx, req.query);
      return serveRead(state, req, reply, {
        window,
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.daily(ctx, window, req.query.granularity ?? 'day'),
        csv: CSV.DAILY,
      });
    },
  );

  app.get(
    '/booking-trends',
    {
      schema: {
        tags,
        security,
        summary: 'Booking totals, cancellation and growth rates over a window',
        querystring: querySchema({ ...Common, ...Days, ...Range, ...Format }),
        response: {
          200: withCsv(envelopeSchema('booking trends', BookingTrendsSchema), 'daily_breakdown'),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      const window = resolveWindow(ctx, req.query);
      return serveRead(state, req, reply, {
        window,
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.bookingTrends(ctx, window, req.query.granularity ?? 'day'),
        csv: CSV.TRENDS,
      });
    },
  );

  app.get(
    '/revenue',
    {
      schema: {
        tags,
        security,
        summary: 'Revenue over the last N days (or from/to), growth, top events and daily breakdown',
        querystring: querySchema({ ...Common, ...Days, ...FromTo, ...Format }),
        response: {
          200: withCsv(envelopeSchema('revenue', RevenueSchema), 'daily_revenue_breakdown'),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      const window = resolveWindow(ctx, req.query);
      return serveRead(state, req, reply, {
        window,
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.revenue(ctx, window),
        csv: CSV.REVENUE,
      });
    },
  );

  app.get(
    '/capacity',
    {
      schema: {
        tags,
        security,
        summary: 'Capacity utilization of live events',
        querystring: querySchema(Common),
        response: { 200: envelopeSchema('capacity', CapacitySchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      return serveRead(state, req, reply, {
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.capacity(),
      });
    },
  );

  app.get(
    '/top-events',
    {
      schema: {
        tags,
        security,
        summary: 'Live events ranked by bookings, revenue or utilization',
        querystring: querySchema({
          ...Common,
          ...Format,
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
          sort_by: Type.Optional(
            Type.Union([Type.Literal('bookings'), Type.Literal('revenue'), Type.Literal('utilization')], {
              default: 'bookings',
            }),
          ),
        }),
        response: {
          200: withCsv(envelopeSchema('top events', TopEventsSchema), 'the events'),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      return serveRead(state, req, reply, {
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.topEvents(req.query.sort_by ?? 'bookings', req.query.limit ?? 10),
        csv: CSV.TOP,
      });
    },
  );

  app.get(
    '/system',
    {
      schema: {
        tags,
        security,
        summary: 'System-wide totals, 30-day window and growth',
        querystring: querySchema(Common),
        response: { 200: envelopeSchema('system', SystemMetricsSchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      return serveRead(state, req, reply, {
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.system(ctx),
      });
    },
  );

  app.get(
    '/overview',
    {
      schema: {
        tags,
        security,
        summary: 'System metrics, last-7-days trends and ingest performance (the older service’s overview)',
        querystring: querySchema(Common),
        response: { 200: envelopeSchema('overview', OverviewSchema), ...errorResponses },
      },
    },
    async (req, reply) => {
      const ctx = readContext(req.query, defaultZone);
      return serveRead(state, req, reply, {
        ctx,
        minVersion: req.query.min_version,
        compute: () => service.overview(ctx),
      });
    },
  );
};
