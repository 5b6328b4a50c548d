/**
 * Prometheus metrics on a registry of their own (never prom-client's global one), built once by the
 * composition root: HTTP requests by route pattern, ingestion by outcome and transport, batch sizes
 * and commit latency, and gauges read from the consumers, the response cache and the database pool
 * when scraped.
 *
 * @example
 * const metrics = createMetrics();
 * metrics.observeRequest({ route: '/api/v1/analytics/events/:event_id', method: 'GET', status: 200, seconds: 0.012 });
 * const text = await metrics.scrape({ cache, pool: () => database.poolStats(), consumers: () => ({}) });
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRICS_PREFIX = 'evently_analytics_';

/** What the gauges are read from at scrape time; each is asked once per scrape. */
export interface MetricSources {
  cache: { stats(): { hits: number; misses: number } };
  pool: () => { total: number; idle: number; waiting: number };
  consumers: () => Record<string, { lag: number | null; pending: number | null; dropped?: number }>;
}

export interface RequestObservation {
  /** The route pattern (`/api/v1/analytics/events/:event_id`), never the raw URL. */
  route: string;
  method: string;
  status: number;
  seconds: number;
}

export interface BatchObservation {
  /** `retryOf`: the dead letter an operator's retry re-processes. */
  items: readonly { transport: string; retryOf?: number | undefined }[];
  /** One per item, `index` into `items`. */
  results: readonly { index: number; outcome: string }[];
  /** The parked messages the batch released (they have no result), by outcome. */
  released: Readonly<Record<string, number>>;
  seconds: number;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  observeRequest(r: RequestObservation): void;
  /** A live stream that ended: counted as a request, its lifetime kept apart from request latency. */
  observeStream(s: { route: string; seconds: number }): void;
  observeBatch(b: BatchObservation): void;
  /** Reads the gauges from their sources now, then renders the Prometheus text format. */
  scrape(sources: MetricSources): Promise<string>;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000];
/** A live stream lasts up to its session: seconds to a day. */
const STREAM_BUCKETS = [1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export function createMetrics(opts: { prefix?: string; processMetrics?: boolean } = {}): Metrics {
  const prefix = opts.prefix ?? METRICS_PREFIX;
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix });

  const requests = new Counter({
    name: `${prefix}http_requests_total`,
    help: 'HTTP requests answered, by route pattern, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const latency = new Histogram({
    name: `${prefix}http_request_duration_seconds`,
    help: 'Time from request to response, by route pattern, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const streamDuration = new Histogram({
    name: `${prefix}live_stream_duration_seconds`,
    help: 'How long each live stream (SSE) was open, by route pattern; not in the request latency',
    labelNames: ['route'] as const,
    buckets: STREAM_BUCKETS,
    registers,
  });
  const messages = new Counter({
    name: `${prefix}ingest_messages_total`,
    help: 'Ingested messages by outcome (processed, duplicate, ignored, rejected) and transport',
    labelNames: ['outcome', 'transport'] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: `${prefix}ingest_batch_size`,
    help: 'Messages per ingested batch',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const commit = new Histogram({
    name: `${prefix}ingest_commit_duration_seconds`,
    help: 'Time to process and commit one batch, queueing behind the batch in flight included',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const lag = new Gauge({
    name: `${prefix}consumer_lag`,
    help: 'Stream entries not yet delivered to the consumer group (absent when Redis cannot tell)',
    labelNames: ['consumer'] as const,
    registers,
  });
  const pending = new Gauge({
    name: `${prefix}consumer_pending`,
    help: 'Messages delivered but not yet acknowledged (stream) or waiting in memory (pub/sub); absent when Redis cannot tell',
    labelNames: ['consumer'] as const,
    registers,
  });
  const dropped = new Counter({
    name: `${prefix}ingest_dropped_total`,
    help: 'Messages lost by a consumer since start: pub/sub messages that neither the database nor the stream could take',
    labelNames: ['consumer'] as const,
    registers,
  });
  const cacheHits = new Counter({
    name: `${prefix}cache_hits_total`,
    help: 'Response cache hits',
    registers,
  });
  const cacheMisses = new Counter({
    name: `${prefix}cache_misses_total`,
    help: 'Response cache misses',
    registers,
  });
  const pool = {
    total: new Gauge({ name: `${prefix}db_pool_total`, help: 'Database connections open', registers }),
    idle: new Gauge({ name: `${prefix}db_pool_idle`, help: 'Database connections idle', registers }),
    waiting: new Gauge({
      name: `${prefix}db_pool_waiting`,
      help: 'Queries waiting for a connection',
      registers,
    }),
  };

  return {
    registry,
    contentType: registry.contentType,
    observeRequest({ route, method, status, seconds }) {
      const labels = { route, method, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    observeStream({ route, seconds }) {
      requests.inc({ route, method: 'GET', status: '200' });
      streamDuration.observe({ route }, seconds);
    },
    observeBatch({ items, results, released, seconds }) {
      batchSize.observe(items.length);
      commit.observe(seconds);
      for (const r of results) {
        const item = items[r.index];
        // A retry moves /health's totals only when it is processed: rejected again it is the same
        // dead letter, and a duplicate was processed meanwhile (counted then).
        if (item?.retryOf !== undefined && r.outcome !== 'processed') continue;
        messages.inc({ outcome: r.outcome, transport: item?.transport ?? 'unknown' });
      }
      // Released parked messages are re-processed dead letters, as an operator's retry is: counted
      // under "retry". Counters only go up: the earlier rejection stays counted, where /health's
      // totals (the event log's outcomes now) move it from rejected to processed.
      for (const [outcome, n] of Object.entries(released))
        if (n > 0) messages.inc({ outcome, transport: 'retry' }, n);
    },
    async scrape(sources) {
      lag.reset();
      pending.reset();
      dropped.reset();
      for (const [consumer, stats] of Object.entries(sources.consumers())) {
        if (stats.lag !== null) lag.set({ consumer }, stats.lag);
        if (stats.pending !== null) pending.set({ consumer }, stats.pending);
        // The consumer keeps its running total; the counter mirrors it.
        if (stats.dropped !== undefined) dropped.inc({ consumer }, stats.dropped);
      }
      // The cache keeps its own running totals; the counters mirror them.
      const cache = sources.cache.stats();
      cacheHits.reset();
      cacheHits.inc(cache.hits);
      cacheMisses.reset();
      cacheMisses.inc(cache.misses);
      const stats = sources.pool();
      pool.total.set(stats.total);
      pool.idle.set(stats.idle);
      pool.waiting.set(stats.waiting);
      return registry.metrics();
    },
  };
}
