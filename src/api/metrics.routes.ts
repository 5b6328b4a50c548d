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
  interface FastifyRequest {
    /**
     * Set by a live-stream route once the stream is open (its reply hijacked): the route counts and
     * logs it when it ends, whichever side ends it, so neither the latency hook nor Fastify's
     * 'request completed' line does (a stream ended by the server would otherwise count twice, its
     * lifetime as a request's latency). A request the route refused is counted as any other.
     */
    liveStreamOpen: boolean;
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
  // A slow request that a client or load balancer gave up on is what a latency SLO is about:
  // counted and logged with its time so far, under its own status. The response's 'close' before
  // its end says so for every method (Fastify's onRequestAbort misses a request whose body was read).
  // Counted once: an aborted request's late answer (written to a closed socket) may still 'finish'.
  const aborted = new WeakSet<object>();
  app.decorateRequest('liveStreamOpen', false);
  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.config.liveStream !== true) {
      const started = performance.now();
      reply.raw.once('close', () => {
        // Answered (ended) before the connection went: not an abort, whatever happened to the bytes.
        if (reply.raw.writableEnded) return;
        aborted.add(reply);
        const elapsed = performance.now() - started;
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
      });
    }
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (aborted.has(reply) || request.liveStreamOpen) return done();
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
