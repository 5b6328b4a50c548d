/** /health, /health/live, /health/ready and /info: what an operator or orchestrator asks. */
import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import type { Redis } from 'ioredis';
import type { BreakerSnapshot } from '../platform/breaker.ts';
import { configSummary, type Config } from '../platform/config.ts';
import type { Db } from '../platform/db.ts';
import { lastReconcile, reconcileCheck } from '../ingest/reconcile.ts';
import { ingestCounters, readWithin } from '../store/health.repository.ts';
import { logPrunedBefore } from '../store/maintenance.repository.ts';
import { sharedFlight, withTimeout } from '../platform/deadline.ts';

import type { ConsumerStats } from '../ingest/consumer.ts';

export type { ConsumerStats };

export interface HealthOptions {
  db: Db;
  redis: Redis | undefined;
  config: Config;
  consumers: () => Record<string, ConsumerStats>;
  /** The circuit breaker in front of the read path's database queries. */
  breaker?: () => BreakerSnapshot;
  /**
   * Runs a trivial read through that breaker: when its cool-down is over (half-open), this is its
   * probe, so it closes once the database is back even when no one reads figures.
   */
  probeBreaker?: () => Promise<unknown>;
  startedAt: number;
  /** What background work (heartbeats, the Redis connection) cannot do now; null when fine. */
  background?: () => { heartbeat: string | null; redis: string | null; storage: string | null };
  /** Whether the process is draining before it exits (a SIGTERM is being handled). */
  shuttingDown: () => boolean;
  version: string;
}

type Check = { status: 'up' | 'down' | 'disabled'; latency_ms?: number; detail?: string };

/** What a process of each role does when Redis is out of reach. */
const REDIS_DOWN: Record<Config['role'], string> = {
  all: 'redis unreachable: serving from PostgreSQL, stream paused',
  api: 'redis unreachable: serving from PostgreSQL, live updates local to this instance',
  worker: 'redis unreachable: stream and channels paused',
};

/** What a process of each role serves: a worker has no API (and so no CSV, SSE or HTTP ingest). */
const CONSUMING = ['redis-stream', 'redis-pubsub', 'cloudevents'];
const SERVING = ['http-ingest', 'cloudevents', 'per-request-timezone', 'csv', 'sse', 'rebuild'];
const FEATURES: Record<Config['role'], string[]> = {
  all: [...new Set([...CONSUMING, ...SERVING])],
  api: SERVING,
  worker: CONSUMING,
};

/** How long a lost pub/sub message keeps /health degraded (the count stays in the consumer's stats). */
const LOSS_TOLD_MS = 15 * 60_000;

/** Every dependency call /health makes answers within this, so the probe fits an orchestrator's budget. */
const PROBE_MS = 2_000;

async function timed(probe: () => Promise<unknown>): Promise<Check> {
  const start = performance.now();
  try {
    await withTimeout(probe(), PROBE_MS, 'health probe');
    return { status: 'up', latency_ms: Math.round((performance.now() - start) * 100) / 100 };
  } catch {
    return { status: 'down', detail: 'not reachable' };
  }
}

/** The store's figures /health reports; undefined when they could not be read in time. */
function readFigures(db: Db) {
  return readWithin(db, PROBE_MS, async (trx) => ({
    counters: await ingestCounters(trx),
    reconcile: await lastReconcile(trx),
    prunedBefore: (await logPrunedBefore(trx)) ?? null,
  })).catch(() => undefined);
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, opts) => {
  const hide = { tags: ['health'] };

  /** Every check, bounded; requests that arrive while one report is being made share it. */
  const report = sharedFlight(async () => {
    // In parallel, each bounded: a lock on a table delays none of them past PROBE_MS.
    const [database, redis, figures] = await Promise.all([
      timed(() => sql`select 1`.execute(opts.db)),
      opts.redis
        ? timed(() => (opts.redis as Redis).ping())
        : Promise.resolve<Check>({ status: 'disabled', detail: 'embedded mode' }),
      readFigures(opts.db),
    ]);
    const consumers = opts.consumers();
    const consumerErrors = Object.values(consumers).filter((c) => c.lastError !== null);
    const lag = Object.values(consumers).reduce<number | null>(
      (acc, c) => (c.lag === null ? acc : (acc ?? 0) + c.lag),
      null,
    );
    const totals = figures?.counters;
    const prunedBefore = figures?.prunedBefore;
    const reconciled = figures && reconcileCheck(figures.reconcile, figures.prunedBefore);
    if (database.status === 'up' && opts.breaker?.().state === 'half-open' && opts.probeBreaker)
      await withTimeout(opts.probeBreaker(), PROBE_MS, () => new Error('probe timed out')).catch(
        () => undefined,
      );
    const breaker = opts.breaker?.();
    const reasons: string[] = [];
    if (database.status === 'down') reasons.push('database unreachable');
    else {
      if (!figures)
        reasons.push(
          `ingest counters, reconcile and retention state not read: a query failed or took over ${PROBE_MS} ms (a lock held on their tables, or an overloaded database)`,
        );
      if (breaker && breaker.state !== 'closed')
        reasons.push(`database reads paused by the circuit breaker (${breaker.state})`);
    }
    const background = opts.background?.();
    if (background?.storage) reasons.push(background.storage);
    if (database.status === 'up' && background?.heartbeat) reasons.push(background.heartbeat);
    if (redis.status === 'down') {
      reasons.push(REDIS_DOWN[opts.config.role]);
      if (background?.redis) redis.detail = background.redis;
    }
    if (opts.shuttingDown()) reasons.push('shutting down: finishing the work in flight, taking no new work');
    for (const [name, c] of Object.entries(consumers)) {
      if (c.lastError) reasons.push(`${name} consumer: ${c.lastError}`);
      if (c.bufferFull)
        reasons.push(
          `${name} consumer: buffer full (${c.pending ?? 0} messages waiting): new messages go to the stream (${c.handedToStream ?? 0} so far)`,
        );
      if (c.lastDroppedAt && Date.now() - Date.parse(c.lastDroppedAt) < LOSS_TOLD_MS)
        reasons.push(
          `${name} consumer: ${c.dropped ?? 0} messages lost since start (Redis refused them), the last at ${c.lastDroppedAt}`,
        );
    }
    if (reconciled?.status === 'drift') {
      reasons.push(
        `reconcile at ${reconciled.checked_at} found ${reconciled.difference_count} ${
          reconciled.difference_count === 1 ? 'figure that differs' : 'figures that differ'
        } from a recomputation: npm run rebuild (or POST /api/v1/analytics/rebuild) recomputes them`,
      );
    }
    const status = database.status === 'down' ? 'unhealthy' : reasons.length > 0 ? 'degraded' : 'healthy';
    return {
      status,
      body: {
        status,
        reasons,
        checks: {
          database: breaker ? { ...database, breaker } : database,
          redis,
          consumer: {
            status:
              Object.keys(consumers).length === 0
                ? 'disabled'
                : consumerErrors.length > 0
                  ? 'degraded'
                  : 'up',
            consumers,
          },
        },
        ingest: {
          processed: totals?.processed ?? null,
          duplicates: totals?.duplicates ?? null,
          ignored: totals?.ignored ?? null,
          rejected: totals?.rejected ?? null,
          lag,
        },
        reconcile: reconciled ?? null,
        event_log: {
          retention_days: opts.config.eventRetentionDays ?? null,
          payloads_pruned_before: prunedBefore ?? null,
          // Unknown (null) while the database cannot say.
          rebuild_complete: prunedBefore === undefined ? null : prunedBefore === null,
        },
        data_version: totals?.data_version ?? null,
        uptime_s: Math.round((Date.now() - opts.startedAt) / 1000),
      },
    };
  });

  app.get(
    '/health',
    { schema: { ...hide, summary: 'Health with dependency checks and ingest counters' } },
    async (_req, reply) => {
      const { status, body } = await report();
      // As every 503 of the service: when to ask again (as the start-up stand-in says it too).
      if (status === 'unhealthy') void reply.header('Retry-After', '5');
      return reply.code(status === 'unhealthy' ? 503 : 200).send(body);
    },
  );

  app.get('/health/live', { schema: { ...hide, summary: 'Liveness: the process answers' } }, async () => ({
    status: 'alive',
  }));

  app.get(
    '/health/ready',
    {
      schema: {
        ...hide,
        summary: 'Readiness: started and taking requests (503 while shutting down)',
        description:
          'Ready does not depend on PostgreSQL: every instance shares it, and while it is down the instances ' +
          'still answer (the last answers, marked stale, or 503 with Retry-After). Tying readiness to it would ' +
          'take every instance out of the load balancer at once (and a probe that waited on it would time out ' +
          'on all of them together). /health reports the database.',
      },
    },
    async (_request, reply) => {
      // Out of the load balancer as soon as the drain starts, not once the server closes (which
      // waits for the batch in flight: seconds, or up to the shutdown grace on a hung database).
      if (opts.shuttingDown())
        return reply.code(503).header('Retry-After', '1').send({ status: 'shutting_down' });
      return { status: 'ready' };
    },
  );

  app.get(
    '/info',
    { schema: { ...hide, summary: 'Service, version, features and configuration (no secrets)' } },
    async () => ({
      service: 'evently-analytics',
      version: opts.version,
      node: process.version,
      // Embedded (no Redis), nothing is consumed from Redis.
      features: FEATURES[opts.config.role].filter((f) => opts.redis || !f.startsWith('redis-')),
      build: { started_at: new Date(opts.startedAt).toISOString() },
      configuration: configSummary(opts.config),
    }),
  );
};
