/**
 * Outages while the service serves and ingests, on a Redis and a PostgreSQL of this file's own
 * (other ports, stopped by PID; the shared servers are never touched). The messages are those of a
 * conformance case, so "nothing lost, nothing doubled" is checked against the reference figures
 * of the same messages ingested into a healthy service.
 *
 * Redis down: reads come from PostgreSQL, HTTP ingest commits, /health says degraded; once Redis is
 * back the stream consumer resumes. PostgreSQL down: reads answered before are served stale, others
 * are a 503 with Retry-After, /health is unhealthy, stream entries wait un-acknowledged and are
 * processed once the database is back.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Consumer } from '../../src/ingest/consumer.ts';
import { internalChannel, type BusMessage } from '../../src/platform/bus.ts';
import { storeId } from '../../src/store/read.repository.ts';
import { startTestApp, streamConsumerOf, type TestApp } from '../helpers/app.ts';
import { assertFigures, assertOutcomes, ingestHttp, loadCases } from '../helpers/conformance.ts';
import { REDIS_URL, waitFor } from '../helpers/db.ts';
import { PgCluster, RedisServer } from '../helpers/servers.ts';

const c = loadCases().find((x) => x.name === '02-duplicates');
if (!c) throw new Error('fixture 02-duplicates is missing');
const raws = c.lines.map((l) => l.raw);
const env = {
  REPORTING_TIMEZONE: c.config.REPORTING_TIMEZONE,
  BASE_CURRENCY: c.config.BASE_CURRENCY,
  EVENT_PROCESSING_BATCH_SIZE: '1000',
};
const BASE = '/api/v1/analytics';

interface Envelope {
  data: unknown;
  meta: { data_version: number; cached: boolean; stale?: boolean };
}

interface Health {
  status: string;
  checks: { database: { status: string; breaker?: { state: string } }; redis: { status: string } };
  ingest: {
    processed: number | null;
    duplicates: number | null;
    ignored: number | null;
    rejected: number | null;
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  // Newest first: the service before the servers it uses.
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

function get(t: TestApp, url: string): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'GET',
    url: `${BASE}${url}`,
    headers: { authorization: `Bearer ${t.token}` },
  });
}

async function health(app: FastifyInstance): Promise<{ code: number; body: Health; retryAfter?: string }> {
  const res = await app.inject({ method: 'GET', url: '/health' });
  const retryAfter = res.headers['retry-after'];
  return {
    code: res.statusCode,
    body: res.json<Health>(),
    ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
  };
}

/** Messages the service has recorded, whatever their outcome; null while the database is down. */
async function recorded(app: FastifyInstance): Promise<number | null> {
  const { ingest } = (await health(app)).body;
  if (ingest.processed === null) return null;
  return (ingest.processed ?? 0) + (ingest.duplicates ?? 0) + (ingest.ignored ?? 0) + (ingest.rejected ?? 0);
}

async function streamBacklog(redis: Redis, key: string): Promise<{ pending: number; lag: number }> {
  const pending = Number(((await redis.xpending(key, 'analytics')) as [number])[0]);
  const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
  const group = groups[0] ?? [];
  return { pending, lag: Number(group[group.indexOf('lag') + 1] ?? 0) };
}

async function xadd(redis: Redis, key: string, lines: readonly string[]): Promise<void> {
  const batch = redis.pipeline();
  for (const line of lines) batch.xadd(key, '*', 'payload', line);
  await batch.exec();
}

function startConsumer(t: TestApp): Consumer {
  const consumer = streamConsumerOf(t);
  consumer.start();
  return consumer;
}

describe('Redis down while serving and ingesting', () => {
  it('serves from PostgreSQL, commits HTTP ingest, and resumes the stream once Redis is back', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.kill());
    const t = await startTestApp({ env: { ...env, REDIS_URL: server.url } });
    cleanups.push(() => t.close());
    const consumer = startConsumer(t);
    cleanups.push(() => consumer.stop());
    const [first, second, third] = [raws.slice(0, 150), raws.slice(150, 300), raws.slice(300)];

    await ingestHttp(t.app, t.token, first);
    const warm = (await get(t, `/system?as_of=${c.config.as_of}`)).json<Envelope>();

    await server.kill();
    await waitFor('the service to notice Redis is gone', async () =>
      t.deps.redis?.status === 'ready' ? undefined : true,
    );

    const results = await ingestHttp(t.app, t.token, second);
    expect(results.filter((r) => r.outcome === 'rejected')).toEqual([]);
    const started = performance.now();
    const during = await get(t, `/system?as_of=${c.config.as_of}`);
    const events = await get(t, `/events?as_of=${c.config.as_of}&sort=event_id&order=asc&limit=500`);
    // No Redis command waits for a connection that is not there.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(during.statusCode).toBe(200);
    expect(events.statusCode).toBe(200);
    const fresh = during.json<Envelope>();
    expect(fresh.meta.data_version).toBeGreaterThan(warm.meta.data_version);
    expect(fresh.meta.stale).toBeUndefined();
    expect(fresh.data).not.toEqual(warm.data);
    const degraded = await health(t.app);
    expect(degraded.code).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.checks.redis.status).toBe('down');
    // The stream consumer says it cannot tell its backlog now, rather than repeat the last figures.
    await waitFor('the stream consumer to notice the outage', async () =>
      consumer.stats().lastError ? true : undefined,
    );
    expect(consumer.stats()).toMatchObject({ lag: null, pending: null });

    await server.start();
    await waitFor('the service to reconnect to Redis', async () =>
      t.deps.redis?.status === 'ready' ? true : undefined,
    );
    const redis = new Redis(server.url);
    cleanups.push(async () => redis.disconnect());
    // The bus subscribed again: a notice from another instance reaches this one.
    const heard: BusMessage[] = [];
    t.deps.bus.subscribe((m) => heard.push(m));
    await waitFor('the bus to hear other instances again', async () => {
      await redis.publish(
        internalChannel(await storeId(t.deps.database.db)),
        JSON.stringify({ kind: 'users' }),
      );
      return heard.some((m) => m.kind === 'users') ? true : undefined;
    });

    await xadd(redis, t.config.streamKey, third);
    await waitFor(
      'every stream entry to be committed',
      async () => ((await recorded(t.app)) === raws.length ? true : undefined),
      30_000,
    );
    expect(await streamBacklog(redis, t.config.streamKey)).toEqual({ pending: 0, lag: 0 });
    await assertOutcomes(t.app, c);
    await assertFigures(t.app, t.token, c);
  });
});

describe('Redis hung while serving', () => {
  it('costs one request per pause the Redis deadline, not every request', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.kill());
    const t = await startTestApp({ env: { ...env, REDIS_URL: server.url } });
    cleanups.push(() => t.close());
    cleanups.push(async () => server.thaw());
    await ingestHttp(t.app, t.token, raws.slice(0, 50));
    const timed = async (url: string) => {
      const started = performance.now();
      const res = await get(t, url);
      expect(res.statusCode).toBe(200);
      return performance.now() - started;
    };
    await timed('/system');

    server.freeze();
    // The first requests wait out the 250 ms deadlines (rate limit, cache) and pause Redis...
    await timed('/capacity');
    await timed('/capacity?as_of=2026-01-01');
    // ...then the answers come without waiting, though Redis still answers nothing. A request that
    // waited out even one deadline takes 250 ms at least: that is the bound, not a speed target
    // (a busy machine had taken one of these to 212 ms against an earlier bound of 200).
    const later: number[] = [];
    for (const url of ['/daily', '/revenue', '/top-events', '/booking-trends', '/overview'])
      later.push(await timed(url));
    expect(Math.max(...later)).toBeLessThan(250);
    server.thaw();
  });
});

describe('PostgreSQL down while serving and ingesting', () => {
  it('serves the last answers stale or 503, keeps stream entries pending, and processes them once it is back', async () => {
    const cluster = await PgCluster.create();
    cleanups.push(() => cluster.remove());
    cluster.start();
    const admin = new pg.Client({ connectionString: cluster.urlFor('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE evently_test_faults');
    await admin.end();
    const t = await startTestApp({
      databaseUrl: cluster.urlFor('evently_test_faults'),
      env: { ...env, REDIS_URL },
    });
    cleanups.push(() => t.close());
    const redis = new Redis(REDIS_URL);
    cleanups.push(async () => {
      await redis.del(t.config.streamKey);
      redis.disconnect();
    });
    const consumer = startConsumer(t);
    cleanups.push(() => consumer.stop());
    const [before, during] = [raws.slice(0, 250), raws.slice(250)];

    await ingestHttp(t.app, t.token, before);
    const system = `/system?as_of=${c.config.as_of}`;
    const eventsCsv = `/events?as_of=${c.config.as_of}&sort=event_id&order=asc&limit=500&format=csv`;
    const warmSystem = await get(t, system);
    const warmCsv = await get(t, eventsCsv);
    expect([warmSystem.statusCode, warmCsv.statusCode]).toEqual([200, 200]);

    cluster.stopImmediately();

    const staleSystem = await get(t, system);
    expect(staleSystem.statusCode).toBe(200);
    expect(staleSystem.headers['x-data-stale']).toBe('true');
    const stale = staleSystem.json<Envelope>();
    expect(stale.meta).toMatchObject({
      stale: true,
      cached: true,
      data_version: warmSystem.json<Envelope>().meta.data_version,
    });
    expect(stale.data).toEqual(warmSystem.json<Envelope>().data);
    const staleCsv = await get(t, eventsCsv);
    expect(staleCsv.statusCode).toBe(200);
    expect(staleCsv.headers['x-data-stale']).toBe('true');
    expect(staleCsv.body).toBe(warmCsv.body);

    const uncached = await get(
      t,
      `/daily?from=${c.config.daily_from}&to=${c.config.daily_to}&granularity=week`,
    );
    expect(uncached.statusCode).toBe(503);
    expect(uncached.headers['content-type']).toContain('application/problem+json');
    expect(Number(uncached.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(uncached.json<{ status: number; detail: string }>()).toMatchObject({ status: 503 });

    // Three failed reads opened the circuit: reads now fail fast, without trying the database.
    const down = await health(t.app);
    expect(down.code).toBe(503);
    expect(down.body.status).toBe('unhealthy');
    expect(down.retryAfter).toBe('5');
    expect(down.body.checks.database.breaker?.state).toBe('open');
    const started = performance.now();
    expect((await get(t, system)).statusCode).toBe(200);
    expect((await get(t, '/capacity')).statusCode).toBe(503);
    expect(performance.now() - started).toBeLessThan(500);

    // An outage is not a rejection: HTTP ingest answers 503 (the producer retries), the stream waits.
    const refused = await t.app.inject({
      method: 'POST',
      url: `${BASE}/ingest`,
      headers: { authorization: `Bearer ${t.token}` },
      payload: { messages: during.slice(0, 20) },
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    await xadd(redis, t.config.streamKey, during);
    // The consumer takes what has arrived, fails to commit it, and retries those first: they stay
    // pending, the rest waits in the stream.
    await waitFor('the consumer to take entries and leave them un-acknowledged', async () => {
      const { pending, lag } = await streamBacklog(redis, t.config.streamKey);
      return pending > 0 && pending + lag === during.length ? true : undefined;
    });
    // Redis still knows the backlog, and so do the consumer's figures (/health, /metrics).
    const backlog = await streamBacklog(redis, t.config.streamKey);
    await waitFor('the consumer to report the backlog Redis holds', async () => {
      const stats = consumer.stats();
      return stats.pending === backlog.pending && stats.lag === backlog.lag ? true : undefined;
    });

    cluster.start();
    await waitFor(
      'every stream entry to be committed',
      async () => ((await recorded(t.app)) === raws.length ? true : undefined),
      45_000,
    );
    expect(await streamBacklog(redis, t.config.streamKey)).toEqual({ pending: 0, lag: 0 });
    const recovered = await waitFor(
      'reads to be answered from the database again',
      async () => {
        const res = await get(t, system);
        return res.statusCode === 200 && res.headers['x-data-stale'] === undefined
          ? res.json<Envelope>()
          : undefined;
      },
      45_000,
    );
    expect(recovered.meta.data_version).toBeGreaterThan(stale.meta.data_version);
    expect((await health(t.app)).body.checks.database.breaker?.state).toBe('closed');
    await assertOutcomes(t.app, c);
    await assertFigures(t.app, t.token, c);
  });
});
