/**
 * `GET /metrics` (Prometheus text) and the hook that times every request by its route pattern.
 *
 * /metrics asks for no token: it is meant to be scraped from inside the cluster and shows only
 * counts and timings, no figures and no secrets. Keep it off the public ingress (or put it behind
 * the ingress's own auth) when the service is exposed.
 *
 * Registered with fastify-plugin, before the routes, so that the hook sees every route.
 */
import fp from 'fastify-plugin';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { MetricSources, Metrics } from '../platform/metrics.ts';
import { sharedFlight } from '../platform/deadline.ts';

export interface MetricsRoutesOptions {
  metrics: Metrics;
  sources: MetricSources;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A live stream: counted when it ends (its lifetime apart), not as an aborted request. */
    liveStream?: boolean;
  }
}

/** The label of requests that matched no route: one series, whatever URL was asked for. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The status of a request whose client went away before the answer (nginx's convention): no
 * response is sent, so Fastify's 'request completed' line and the onResponse hook never come.
 */
export const CLIENT_CLOSED_REQUEST = 499;

const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { metrics, sources }) => {
  // Scrapes that arrive while one is rendered share it: unauthenticated, a flood costs one at a time.
  const scrape = sharedFlight(() => metrics.scrape(sources));
  // When each request came: an aborted one has no reply to read its time from.
  const requestStarts = new WeakMap<object, number>();
  app.addHook('onRequest', (request, _reply, done) => {
    requestStarts.set(request, performance.now());
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest({
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      method: request.method,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
    done();
  });
  // A slow request that a client or load balancer gave up on is what a latency SLO is about:
  // counted and logged with its time so far, under its own status.
  app.addHook('onRequestAbort', (request, done) => {
    if (request.routeOptions.config.liveStream !== true) {
      const elapsed = performance.now() - (requestStarts.get(request) ?? performance.now());
      metrics.observeRequest({
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        method: request.method,
        status: CLIENT_CLOSED_REQUEST,
        seconds: elapsed / 1000,
      });
      request.log.info(
        { res: { statusCode: CLIENT_CLOSED_REQUEST }, responseTime: elapsed },
        'request aborted by the client before its answer',
      );
    }
    done();
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text format); no token, scrape it from inside the cluster',
        description:
          'Request counts and latency histograms by route pattern, ingested messages by outcome and transport, ' +
          'batch sizes, commit latency, consumer lag and pending, response-cache hits and misses, database pool ' +
          'connections and process metrics, all prefixed `evently_analytics_`. Unauthenticated by design: keep the ' +
          'path off public ingress.',
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await scrape()),
  );
};

export default fp(metricsRoutes, { name: 'metrics', fastify: '5.x' });
