/** HTTP transport of the pipeline, and the operator's tools on the event log. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RequestPayload } from 'fastify';
import {
  BadRequestError,
  DomainError,
  NotFoundError,
  UnavailableError,
  UnsupportedMediaTypeError,
} from '../api/errors.ts';
import { envelopeSchema, errorResponses, problemRef } from '../api/schemas.ts';
import type { Db } from '../platform/db.ts';
import type { ResponseCache } from '../platform/cache.ts';
import { messageText } from './message-text.ts';
import { REJECT_REASONS } from './rejection.ts';
import type { BatchOptions, Pipeline } from './pipeline.ts';
import { WriterBusyError } from './writer-turn.ts';
import { findDeadLetter, listDeadLetters } from '../store/dead-letters.repository.ts';
import { IncompleteLogError, rebuildAggregates, type RebuildReport } from './rebuild.ts';
import { everyFigureChanged } from './entry.ts';
import { bumpDataVersion } from '../store/ingest.repository.ts';
import { reconcile, type ReconcileReport } from './reconcile.ts';
import type { Config } from '../platform/config.ts';
import type { Bus } from '../platform/bus.ts';
import { ingestRateLimit } from '../auth/rate-limit.plugin.ts';
import { Common, Format, NoQuery, readContext } from '../api/params.ts';
import { csvDownload, gzipLargeAnswers, varyOn, wantsCsv } from '../api/negotiation.ts';
import { oneAtATime } from './one-at-a-time.ts';
import { toCsv } from '../api/csv.ts';

export interface IngestRoutesOptions {
  pipeline: Pipeline;
  db: Db;
  cache: ResponseCache;
  bus: Bus;
  config: Pick<Config, 'baseCurrency' | 'reportingTimezone' | 'rateLimit' | 'ingestWaitSeconds'>;
}

/** A caller of the API waits for the writer this long (INGEST_WAIT_SECONDS), not for a whole rebuild. */
const writerWait = (config: Pick<Config, 'ingestWaitSeconds'>): BatchOptions => ({
  waitMs: config.ingestWaitSeconds * 1000,
});

/** The batch's result; a writer that stayed busy is a 503 that says nothing was written. */
function committed<T>(work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    throw error instanceof WriterBusyError
      ? new UnavailableError(error.message, error.retryAfterMs / 1000)
      : error;
  });
}

const writerBusyResponse = problemRef(
  'Nothing of the batch was written: the writer stayed busy past INGEST_WAIT_SECONDS (a rebuild or ' +
    'the retention holds it; embedded, a reconcile too), or the database is down; send it again after Retry-After',
);

const tags = ['ingest'];
const security = [{ bearerAuth: [] }];

/** As the JSON items and their schema (operations.schemas.ts) list them. */
const DEAD_LETTER_COLUMNS = [
  'id',
  'reason',
  'detail',
  'transport',
  'channel',
  'received_at',
  'raw',
  'raw_bytes',
  'raw_truncated',
] as const;

const ResultSchema = Type.Object({
  index: Type.Integer(),
  outcome: Type.Union(['processed', 'duplicate', 'ignored', 'rejected'].map((o) => Type.Literal(o))),
  reason: Type.Optional(Type.String()),
  key: Type.Union([Type.String(), Type.Null()]),
});

/**
 * The app's validator turns a lone value into an array (`coerceTypes: 'array'`, meant for repeated
 * query parameters): without this check `{"messages": 5}` would be taken as `[5]`.
 */
function messagesAsSent(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const body = req.body as { messages?: unknown } | null | undefined;
  const messages = typeof body === 'object' && body !== null ? body.messages : undefined;
  if (messages !== undefined && !Array.isArray(messages))
    done(new BadRequestError('body.messages must be an array of messages (objects or strings)'));
  else done();
}

/**
 * A body sent compressed is refused rather than read as text. A route hook: it runs after the
 * scope's token check (a caller without a token learns nothing of the body rules), and only here,
 * not on every request of the API.
 */
function refuseEncodedBody(
  request: FastifyRequest,
  _reply: FastifyReply,
  payload: RequestPayload,
  done: (error: Error | null, payload?: RequestPayload) => void,
): void {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity')
    done(new UnsupportedMediaTypeError('send the request body uncompressed (no Content-Encoding)'));
  else done(null, payload);
}

/**
 * POST /ingest, in a scope of its own for its JSON parser. Fastify refuses a body holding a
 * "__proto__" or "constructor.prototype" key anywhere, to protect code that merges a body into
 * other objects; but such a key is legal in a message, and the same message is accepted as a
 * string or over the stream. This route only turns each message back into text for the parser
 * (which reads it with JSON.parse, as it reads the stream's: such a key becomes a plain property),
 * and its envelope refuses any key but `messages`. Every other route keeps Fastify's protection.
 */
const ingestBatch: FastifyPluginAsyncTypebox<IngestRoutesOptions> = async (app, opts) => {
  // JSON only: not the text and catch-all parsers the other POSTs take (415 for anything else).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('ignore', 'ignore'),
  );
  app.post(
    '/ingest',
    {
      bodyLimit: 1024 * 1024,
      config: { rateLimit: ingestRateLimit(opts.config.rateLimit) },
      preParsing: refuseEncodedBody,
      preValidation: messagesAsSent,
      schema: {
        tags,
        security,
        summary: 'Ingest a batch of messages; answered after the batch is committed',
        description:
          'Each message is an envelope object (Evently, flat or CloudEvents format), or a string holding the raw ' +
          'message text exactly as a producer published it. Rate limited apart from the analytics requests: ' +
          '`RATE_LIMIT_INGEST` calls per caller per `RATE_LIMIT_WINDOW` (0: unlimited).',
        querystring: NoQuery,
        body: Type.Object(
          {
            messages: Type.Array(Type.Unknown(), {
              minItems: 1,
              maxItems: 1000,
              description:
                'Messages in any envelope of the wire contract (Evently, flat, CloudEvents), as objects or as JSON text; each gets its own outcome',
            }),
          },
          {
            additionalProperties: false,
            examples: [
              {
                messages: [
                  {
                    type: 'BookingCreated',
                    booking_id: 501,
                    event_id: 7,
                    user_id: 42,
                    timestamp: '2026-11-20T18:30:00Z',
                    booking_data: {
                      id: 501,
                      event_id: 7,
                      user_id: 42,
                      quantity: 2,
                      total_amount: 80,
                      currency: 'USD',
                      status: 'pending',
                      created_at: '2026-11-20T18:30:00Z',
                    },
                  },
                ],
              },
            ],
          },
        ),
        response: {
          200: envelopeSchema(
            'ingest',
            Type.Object({ results: Type.Array(ResultSchema), data_version: Type.Integer() }),
          ),
          ...errorResponses,
          503: writerBusyResponse,
          413: problemRef('The body is over 1 MiB'),
          415: problemRef(
            'The body is not application/json, or is sent with a Content-Encoding (send it uncompressed)',
          ),
        },
      },
    },
    async (req) => {
      const items = req.body.messages.map((m) => ({ raw: messageText(m), transport: 'http' as const }));
      const result = await committed(opts.pipeline.processBatch(items, writerWait(opts.config)));
      return { success: true as const, data: { results: result.results, data_version: result.dataVersion } };
    },
  );
};

export const ingestRoutes: FastifyPluginAsyncTypebox<IngestRoutesOptions> = async (app, opts) => {
  const rebuilds = oneAtATime<RebuildReport>();
  const reconciles = oneAtATime<ReconcileReport>();
  app.addHook('onSend', gzipLargeAnswers);
  await app.register(ingestBatch, opts);

  app.get(
    '/dead-letters',
    {
      schema: {
        tags,
        security,
        summary: 'Rejected messages with their reason and raw payload (newest first; text/csv on request)',
        querystring: Type.Object(
          {
            as_of: Common.as_of,
            tz: Common.tz,
            ...Format,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
            reason: Type.Optional(Type.Union(REJECT_REASONS.map((r) => Type.Literal(r)))),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      // Accepted as on every analytics GET; the list itself does not depend on a day or zone.
      readContext(req.query, opts.config.reportingTimezone);
      const limit = req.query.limit ?? 50;
      const offset = req.query.offset ?? 0;
      const { items, total } = await listDeadLetters(opts.db, { reason: req.query.reason, limit, offset });
      varyOn(reply, 'Accept');
      if (wantsCsv(req)) return csvDownload(reply).send(toCsv(items, DEAD_LETTER_COLUMNS));
      return { success: true, data: { dead_letters: items, total, limit, offset } };
    },
  );

  app.post(
    '/dead-letters/:id/retry',
    {
      schema: {
        tags,
        security,
        summary: 'Re-process one rejected message (after a fix)',
        querystring: NoQuery,
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
      },
    },
    async (req) => {
      const row = await findDeadLetter(opts.db, req.params.id);
      if (!row) throw new NotFoundError(`no rejected message with id ${req.params.id}`);
      const result = await committed(
        opts.pipeline.processBatch(
          [
            {
              raw: row.raw,
              transport: 'retry',
              channel: row.channel ?? undefined,
              retryOf: req.params.id,
              receivedAt: row.receivedAt,
            },
          ],
          writerWait(opts.config),
        ),
      );
      return { success: true, data: { result: result.results[0], data_version: result.dataVersion } };
    },
  );

  app.post(
    '/rebuild',
    {
      schema: {
        tags,
        security,
        summary: 'Recompute every aggregate from the event log; answers when done, with counts and duration',
        querystring: Type.Object(
          {
            force: Type.Optional(Type.Boolean({ description: 'Rebuild even if retention pruned payloads' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const force = req.query.force === true;
      const report = await rebuilds(force ? 'forced rebuild' : 'rebuild', async () => {
        let rebuilt;
        try {
          rebuilt = await rebuildAggregates({ db: opts.db, config: opts.config, force, logger: req.log });
        } catch (error) {
          if (error instanceof IncompleteLogError) throw new DomainError(409, 'Conflict', error.message);
          throw error;
        }
        await opts.cache.clear();
        await opts.bus.publish({ kind: 'change', notice: everyFigureChanged(rebuilt.data_version) });
        return rebuilt;
      });
      return { success: true, data: report };
    },
  );

  app.post(
    '/reconcile',
    {
      schema: {
        tags,
        security,
        summary: 'Compare the incremental figures with a recomputation from the event log; reports drift',
        querystring: NoQuery,
      },
    },
    async () => ({
      success: true,
      data: await reconciles('reconcile', () => reconcile({ db: opts.db, config: opts.config })),
    }),
  );

  app.post(
    '/cache/clear',
    {
      schema: {
        tags,
        security,
        summary: 'Drop cached responses, on every instance (a new data version: old ETags no longer match)',
        querystring: NoQuery,
      },
    },
    async () => {
      // Figures may have been changed behind the service's back (that is what a clear is for): a
      // new data version makes every instance's cached answers and every client's ETag stale, as a
      // committed batch does, and the notice tells live pages to refetch.
      const dataVersion = await bumpDataVersion(opts.db);
      await opts.cache.clear();
      await opts.bus.publish({
        kind: 'change',
        notice: everyFigureChanged(dataVersion),
      });
      return { success: true, data: { cleared: true } };
    },
  );
};
