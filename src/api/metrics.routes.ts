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

/** The label of requests that matched no route: one series, whatever URL was asked for. */
export const UNMATCHED_ROUTE = 'unmatched';

const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { metrics, sources }) => {
  // Scrapes that arrive while one is rendered share it: unauthenticated, a flood costs one at a time.
  const scrape = sharedFlight(() => metrics.scrape(sources));
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest({
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      method: request.method,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
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
