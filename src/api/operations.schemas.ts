/**
 * Response schemas of the operations routes (health, info, the stream and the ingest tools), which
 * declare none themselves, and the `onRoute` hook that attaches them. These routes are serialized
 * through their schemas, so every object is open (`additionalProperties: true`) and never strips a
 * field the handler returns.
 */
import { Type, type TSchema } from '@fastify/type-provider-typebox';
import { bodyIgnored, errorResponses, MetaSchema, Nullable, problemRef, withCsv } from './schemas.ts';

const Open = <P extends Record<string, TSchema>>(properties: P, description?: string) =>
  Type.Object(properties, { additionalProperties: true, ...(description ? { description } : {}) });
const Ok = (data: TSchema) => Open({ success: Type.Literal(true), data, meta: MetaSchema });
const Check = Open({
  status: Type.Union(
    [Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled'), Type.Literal('unknown')],
    {
      description: 'unknown: not checked yet (while start-up waits for the database)',
    },
  ),
  latency_ms: Type.Optional(Type.Number()),
  detail: Type.Optional(Type.String()),
});
const NullableInt = Nullable(Type.Integer());

export const HealthSchema = Open(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
    reasons: Type.Array(Type.String()),
    checks: Open({
      database: Check,
      redis: Check,
      consumer: Open({
        status: Type.String(),
        consumers: Type.Record(
          Type.String(),
          Open({
            lag: NullableInt,
            pending: NullableInt,
            lastError: Nullable(Type.String()),
            running: Type.Boolean(),
            handedToStream: Type.Optional(
              Type.Integer({
                description:
                  'Pub/sub: messages handed to the stream since start (no room in memory while the database was down, or at shutdown)',
              }),
            ),
            dropped: Type.Optional(
              Type.Integer({
                description: 'Pub/sub: messages lost since start (Redis refused them to the stream)',
              }),
            ),
            lastDroppedAt: Type.Optional(
              Nullable(
                Type.String({ format: 'date-time', description: 'Pub/sub: when a message was last lost' }),
              ),
            ),
            bufferFull: Type.Optional(
              Type.Boolean({ description: 'Pub/sub: its buffer is full now; new messages go to the stream' }),
            ),
          }),
        ),
      }),
    }),
    ingest: Open({
      processed: NullableInt,
      duplicates: NullableInt,
      ignored: NullableInt,
      rejected: NullableInt,
      lag: NullableInt,
    }),
    reconcile: Type.Optional(
      Nullable(
        Open(
          {
            status: Type.Union([Type.Literal('clean'), Type.Literal('drift'), Type.Literal('unverifiable')], {
              description:
                'clean or drift: what the last run found; unverifiable: retention dropped payloads a recomputation needs',
            }),
            checked_at: Type.Optional(Type.String({ format: 'date-time' })),
            drift: Type.Optional(Type.Boolean()),
            difference_count: Type.Optional(Type.Integer()),
            reason: Type.Optional(Type.String({ description: 'Only when unverifiable: why' })),
            last_verified: Type.Optional(
              Nullable(
                Open(
                  {},
                  'Only when unverifiable: the last run that could compare (checked_at, drift, difference_count)',
                ),
              ),
            ),
          },
          'The last reconcile run; null when none ran',
        ),
      ),
    ),
    event_log: Type.Optional(
      Open({}, 'Retention of message payloads, and whether a rebuild can be complete'),
    ),
    data_version: NullableInt,
    uptime_s: Type.Integer(),
  },
  'Health; 200 when healthy or degraded, 503 when the service cannot serve',
);
export const ReadySchema = Open({ status: Type.String() }, 'Readiness');
export const LiveSchema = Open({ status: Type.Literal('alive') }, 'Liveness');
export const InfoSchema = Open(
  {
    service: Type.String(),
    version: Type.String(),
    node: Type.String(),
    features: Type.Array(Type.String()),
    build: Open({ started_at: Type.String({ format: 'date-time' }) }),
    configuration: Open({}, 'Configuration summary; URLs redacted, never a secret'),
  },
  'Service information',
);
const IngestResult = Open({
  index: Type.Integer(),
  outcome: Type.Union(['processed', 'duplicate', 'ignored', 'rejected'].map((o) => Type.Literal(o))),
  reason: Type.Optional(Type.String()),
  key: Nullable(Type.String()),
});
export const DeadLettersSchema = Ok(
  Open({
    dead_letters: Type.Array(
      Open({
        id: Type.Integer(),
        reason: Nullable(Type.String()),
        detail: Nullable(Type.String()),
        transport: Type.String(),
        channel: Nullable(Type.String()),
        received_at: Type.String({ format: 'date-time' }),
        raw: Type.String({
          description:
            'The message text exactly as received: its first 65,536 characters, or 4,194,304 / limit on a page of more than 64 (see raw_truncated)',
        }),
        raw_bytes: Type.Integer({ description: "The whole message's size in bytes (UTF-8)" }),
        raw_truncated: Type.Boolean({
          description: 'True when raw is only the start of the message; a retry uses the whole message',
        }),
      }),
    ),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  }),
);
export const RetrySchema = Ok(Open({ result: IngestResult, data_version: Type.Integer() }));
export const RebuildSchema = Ok(
  Open({
    messages: Type.Integer(),
    bookings: Type.Integer(),
    events: Type.Integer(),
    messages_without_payload: Type.Integer({
      description:
        'Processed messages retention left without their payload: not replayed (a forced rebuild); their bookings and events are missing or incomplete',
    }),
    duration_ms: Type.Number(),
    data_version: Type.Integer(),
  }),
);
export const ReconcileSchema = Ok(
  Open({
    checked_at: Type.String({ format: 'date-time' }),
    drift: Type.Boolean(),
    comparable: Type.Boolean({ description: 'False when retention dropped payloads a recomputation needs' }),
    differences: Type.Array(Open({}), { description: 'The figures that differ, stored and recomputed' }),
    difference_count: Type.Integer(),
    duration_ms: Type.Number(),
    reason: Type.Optional(
      Type.String({ description: 'Only when not comparable: why drift cannot be verified' }),
    ),
    payloads_pruned_before: Type.Optional(
      Type.String({ description: 'Only when not comparable: the cut-off of the payloads retention dropped' }),
    ),
  }),
);
export const CacheClearedSchema = Ok(Open({ cleared: Type.Boolean() }));

/**
 * Responses of routes declared without any, by method and path: the health and ingest-tool routes
 * are documented (and serialized without loss) from here. A route that declares its own keeps it.
 */
const OPERATION_RESPONSES: Readonly<Record<string, Record<number, unknown>>> = {
  'GET /health': { 200: HealthSchema, 503: HealthSchema },
  'GET /health/live': { 200: LiveSchema },
  'GET /health/ready': { 200: ReadySchema, 503: ReadySchema },
  'GET /info': { 200: InfoSchema },
  'GET /api/v1/analytics/stream': {
    200: {
      description:
        'text/event-stream: `event: change` with data {data_version, changed}, a heartbeat comment every 15 s',
      content: { 'text/event-stream': { schema: Type.String() } },
    },
    400: errorResponses[400],
    401: errorResponses[401],
    403: errorResponses[403],
    429: errorResponses[429],
  },
  'GET /api/v1/analytics/dead-letters': {
    200: withCsv(DeadLettersSchema, 'the dead letters'),
    ...errorResponses,
  },
  'POST /api/v1/analytics/dead-letters/:id/retry': { 200: RetrySchema, ...errorResponses, ...bodyIgnored },
  'POST /api/v1/analytics/rebuild': {
    200: RebuildSchema,
    ...errorResponses,
    ...bodyIgnored,
    409: problemRef(
      'Retention dropped payloads a rebuild needs (`force=true` rebuilds from what is left), or a rebuild of the other kind is running on this instance (see Retry-After)',
    ),
  },
  'POST /api/v1/analytics/reconcile': { 200: ReconcileSchema, ...errorResponses, ...bodyIgnored },
  'POST /api/v1/analytics/cache/clear': { 200: CacheClearedSchema, ...errorResponses, ...bodyIgnored },
};

/** An `onRoute` hook: fills in the response schemas of OPERATION_RESPONSES. */
export function documentResponses(route: {
  method: string | string[];
  url: string;
  schema?: { response?: unknown };
}): void {
  const responses =
    typeof route.method === 'string' ? OPERATION_RESPONSES[`${route.method} ${route.url}`] : undefined;
  if (responses === undefined || route.schema?.response !== undefined) return;
  route.schema = { ...route.schema, response: responses };
}
