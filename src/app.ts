/** Builds the Fastify app from ready dependencies: plugins, routes and the one error handler. */
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { analyticsRoutes } from './api/analytics.routes.ts';
import { UnsupportedMediaTypeError } from './api/errors.ts';
import { answerError, answerNotFound, problemOf } from './api/problems.ts';
import { healthRoutes, type ConsumerStats } from './api/health.routes.ts';
import metricsRoutes, { UNMATCHED_ROUTE } from './api/metrics.routes.ts';
import { createMethodIndex } from './api/allowed-methods.ts';
import { documentResponses } from './api/operations.schemas.ts';
import { guardParameters } from './api/param-guard.ts';
import { finishDocument } from './api/openapi-document.ts';
import { gzipLargeAnswers } from './api/negotiation.ts';
import { envelopeMeta } from './api/respond.ts';
import { ProblemSchema } from './api/schemas.ts';
import { streamRoutes } from './api/stream.routes.ts';
import { adminAuth } from './auth/auth.plugin.ts';
import { analyticsRateLimit } from './auth/rate-limit.plugin.ts';
import { createUserStatus } from './auth/user-status.ts';
import { userRoutes } from './auth/users.routes.ts';
import dashboard from './dashboard/dashboard.plugin.ts';
import type { Deps } from './deps.ts';
import { ingestRoutes } from './ingest/ingest.routes.ts';
import { pingDatabase } from './platform/db.ts';
import { requestIdFrom } from './platform/request-id.ts';
import { API_SECURITY_HEADERS, securityHeaders } from './platform/security-headers.ts';

export const VERSION = '1.0.0';

/** /docs loads only the service's own files; Swagger UI's bundle injects a <style> element. */
const DOCS_CSP = {
  'default-src': "'self'",
  'base-uri': "'self'",
  'font-src': "'self' data:",
  'frame-ancestors': "'self'",
  'img-src': "'self' data:",
  'object-src': "'none'",
  'script-src': "'self'",
  'script-src-attr': "'none'",
  'style-src': "'self' 'unsafe-inline'",
};

export interface AppOptions {
  consumers?: () => Record<string, ConsumerStats>;
  startedAt?: number;
  /** Whether the process is shutting down (draining): /health/ready answers 503 from then on. */
  shuttingDown?: () => boolean;
  /** Live streams' heartbeat (default 15 s), for tests that cannot wait for the real one. */
  streamHeartbeatMs?: number;
}

export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    // pino's Logger and Fastify's base logger type differ only nominally.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed by tsc, not seen by the linter
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    // An open live stream logs its own end ('live stream closed'), however it ends.
    logController: new LogController({ disableRequestLogging: (request) => request.liveStreamOpen }),
    bodyLimit: 1024 * 1024,
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(config.trustProxy)
        : config.trustProxy,
    routerOptions: { maxParamLength: 500 },
    // Errors Fastify raises before routing (a malformed URL, ...) get the same problem body.
    frameworkErrors: (error, request, reply) => {
      const problem = problemOf(400, 'Bad Request', 'the request URL is malformed', request.url, request.id);
      // No hook runs for this request: its headers, its metrics and its log line are done here.
      void (reply as FastifyReply)
        .code(400)
        .headers(API_SECURITY_HEADERS)
        .header('X-Request-Id', request.id)
        .type('application/problem+json')
        .send(problem);
      const seconds = reply.elapsedTime / 1000;
      deps.metrics.observeRequest({ route: UNMATCHED_ROUTE, method: request.method, status: 400, seconds });
      request.log.info({ res: { statusCode: 400 }, responseTime: reply.elapsedTime }, 'request completed');
    },
    // Requests Node's HTTP parser refuses (headers too large, bad framing) never reach a route, nor
    // get a request id from it: they get one here, in the answer and the log line alike.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return;
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const title = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
      const requestId = randomUUID();
      const body = JSON.stringify(
        problemOf(
          status,
          title,
          status === 431 ? 'the request headers are too large' : 'the request is malformed',
          '',
          requestId,
        ),
      );
      // The API's security headers too, as on every answer of the service.
      const security = Object.entries(API_SECURITY_HEADERS)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n${security}Connection: close\r\n\r\n${body}`,
      );
      deps.metrics.observeRequest({ route: UNMATCHED_ROUTE, method: 'UNKNOWN', status, seconds: 0 });
      deps.logger.info(
        { reqId: requestId, code: error.code, res: { statusCode: status } },
        'request refused by the HTTP parser',
      );
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ProblemSchema);
  app.addHook('onRoute', documentResponses);
  const methods = createMethodIndex();
  app.addHook('onRoute', (route) => methods.add(route));
  // Hooks on every request take a callback rather than return a promise: one microtask less each.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  app.addHook('preValidation', guardParameters);
  app.setErrorHandler(answerError);
  app.setNotFoundHandler(answerNotFound(methods));

  await app.register(securityHeaders, {
    page: {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          // helmet's default would make a browser fetch every asset over https, so the page would
          // be blank wherever the service is reached over plain http but on localhost (TLS, when
          // used, is terminated in front of the service and its pages are https already).
          upgradeInsecureRequests: null,
        },
      },
    },
  });
  const allowedOrigins = new Set(config.corsOrigins);
  // Per request: credentials (and the origin) are allowed only for a listed origin; any other
  // origin gets no CORS headers at all.
  await app.register(cors, {
    // An origin that is not listed gets no CORS header at all (so no credentials either).
    origin: (origin, callback) =>
      callback(null, origin !== undefined && allowedOrigins.has(origin) ? origin : false),
    credentials: true,
    strictPreflight: false,
    // A browser may reuse a preflight answer for 10 minutes instead of asking before each request.
    maxAge: 600,
    exposedHeaders: [
      'X-Request-Id',
      'ETag',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'Retry-After',
      'WWW-Authenticate',
      'Content-Disposition',
    ],
  });
  await app.register(swagger, {
    // Shared schemas appear under their $id (components/schemas/Problem) rather than def-N.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transformObject: (document) => finishDocument('openapiObject' in document ? document.openapiObject : {}),
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Evently Analytics API',
        version: VERSION,
        description:
          'Exact, live business figures of the Evently platform. Metric definitions: docs/metrics.md. ' +
          'Errors are RFC 9457 problem details (application/problem+json). A path asked with a method it ' +
          'is not served with answers 405 with an Allow header; an unknown path 404. A query parameter ' +
          'left empty (`sort=`) takes its default; an unknown one is refused (400).',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      tags: [
        { name: 'analytics', description: 'Figures (admin token required)' },
        {
          name: 'ingest',
          description: 'HTTP ingestion and operations on the event log (admin token required)',
        },
        { name: 'health', description: 'Health, readiness and service information' },
        { name: 'admin', description: 'User administration (admin token required)' },
      ],
    },
  });
  // After swagger (which collects routes as they are added), before every other route (so that
  // its hook times them all).
  await app.register(metricsRoutes, {
    metrics: deps.metrics,
    sources: {
      cache: deps.cache,
      pool: () => deps.database.poolStats(),
      consumers: options.consumers ?? (() => ({})),
    },
  });
  if (config.role !== 'worker') {
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
    app.get('/openapi.json', { schema: { hide: true }, onSend: gzipLargeAnswers }, async () => app.swagger());
  }

  await app.register(healthRoutes, {
    db: deps.database.db,
    redis: deps.redis,
    config,
    consumers: options.consumers ?? (() => ({})),
    breaker: () => deps.readState.breaker(),
    probeBreaker: () => deps.readState.read(() => pingDatabase(deps.database.db)),
    startedAt: options.startedAt ?? Date.now(),
    background: () => deps.backgroundProblems(),
    shuttingDown: options.shuttingDown ?? (() => false),
    version: VERSION,
  });

  // A worker (stream and pub/sub consumers) answers only what an operator asks of a process: health,
  // info and metrics. The API, its documentation and the dashboard are the api role's.
  if (config.role === 'worker')
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the type provider narrows the instance type
    return app as unknown as FastifyInstance;

  await app.register(
    async (api) => {
      await api.register(adminAuth, { verifier: deps.verifier });
      // A POST that reads no body (cache/clear, rebuild, reconcile, a retry, a user's status)
      // takes whatever an HTTP client sends with it (a form's type, text) and ignores it; the
      // routes that read one (ingest) keep their own parser and refuse any other type (415).
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('*', { parseAs: 'buffer' }, (request, _body, done) => {
        // A route of this scope that reads a body would need a parser of its own (as ingest has).
        if (request.routeOptions.schema?.body !== undefined)
          done(new UnsupportedMediaTypeError('the request body must be application/json'));
        else done(null, undefined);
      });
      api.addHook('preSerialization', envelopeMeta(deps.readState, config.reportingTimezone));
      await api.register(analyticsRateLimit, {
        limit: config.rateLimit,
        redis: deps.redis,
        db: deps.database.db,
        logger: deps.logger,
      });
      await api.register(analyticsRoutes, {
        service: deps.service,
        state: deps.readState,
        defaultZone: config.reportingTimezone,
      });
      await api.register(streamRoutes, {
        bus: deps.bus,
        jwt: config.jwt,
        isDisabled: (userId) => deps.disabledUsers.has(userId),
        dataVersion: () => deps.readState.dataVersion(),
        onStreamEnd: (stream) => deps.metrics.observeStream(stream),
        ...(options.streamHeartbeatMs === undefined ? {} : { heartbeatMs: options.streamHeartbeatMs }),
      });
      await api.register(ingestRoutes, {
        pipeline: deps.ingest,
        db: deps.database.db,
        cache: deps.cache,
        bus: deps.bus,
        config,
      });
      await api.register(userRoutes, {
        users: createUserStatus({ db: deps.database.db, bus: deps.bus, disabledUsers: deps.disabledUsers }),
      });
    },
    { prefix: '/api/v1/analytics' },
  );
  await app.register(dashboard);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the type provider narrows the instance type
  return app as unknown as FastifyInstance;
}
