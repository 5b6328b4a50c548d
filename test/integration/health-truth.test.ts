/**
 * What operators and orchestrators are told: /health/ready goes 503 as soon as a shutdown starts,
 * /health is healthy again once the database is back even when nobody reads figures (the circuit
 * breaker is probed by /health itself), and a cache clear makes every cached answer and every
 * client's ETag stale.
 */
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/db.ts';
import { RedisServer } from '../helpers/servers.ts';
import { ingestHttp } from '../helpers/conformance.ts';
import { eventCreated } from '../support/messages.ts';
import { setDatabaseReachable } from '../support/scratch-database.ts';

const BASE = '/api/v1/analytics';
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const get = (t: TestApp, url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.token}`, ...headers } });

describe('readiness', () => {
  it('answers 503 from the moment a shutdown starts', async () => {
    let shuttingDown = false;
    const t = await startTestApp({ appOptions: { shuttingDown: () => shuttingDown } });
    cleanups.push(() => t.close());
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    shuttingDown = true;
    const draining = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(draining.statusCode).toBe(503);
    expect(draining.headers['retry-after']).toBeDefined();
    // The documented readiness shape (a problem body would have had its status turned to text).
    expect(draining.json()).toEqual({ status: 'shutting_down' });
    // /health says it too, rather than "healthy" while the instance drains.
    const health = (await t.app.inject({ method: 'GET', url: '/health' })).json<HealthBody>();
    expect(health.status).toBe('degraded');
    expect(health.reasons).toContain('shutting down: finishing the work in flight, taking no new work');
  });
});

interface HealthBody {
  status: string;
  reasons: string[];
  checks: { redis: { status: string; detail?: string } };
}

const healthOf = async (t: TestApp) =>
  (await t.app.inject({ method: 'GET', url: '/health' })).json<HealthBody>();

describe('uptime heartbeats that cannot be recorded', () => {
  it('are a /health reason while they fail (system_uptime counts those minutes as down), gone once recorded again', async () => {
    const t = await startTestApp({ depsOptions: { heartbeatMs: 100 } });
    cleanups.push(() => t.close());
    t.deps.startBackground();
    const db = t.deps.database.db;
    await sql`alter table uptime_runs rename to uptime_runs_away`.execute(db);
    const failing = await waitFor('the heartbeat reason', async () => {
      const health = await healthOf(t);
      return health.reasons.some((r) => r.startsWith('uptime heartbeats not recorded since'))
        ? health
        : undefined;
    });
    expect(failing.status).toBe('degraded');
    await sql`alter table uptime_runs_away rename to uptime_runs`.execute(db);
    await waitFor('the heartbeat reason to go', async () => {
      const health = await healthOf(t);
      return health.status === 'healthy' ? health : undefined;
    });
  });
});

describe('a Redis that starts refusing the password', () => {
  it('is down in /health, with the refusal as its detail', async () => {
    const server = await RedisServer.start(undefined, { password: 'first-password' });
    cleanups.push(() => server.kill());
    const t = await startTestApp({ env: { REDIS_URL: server.url } });
    cleanups.push(() => t.close());
    expect((await healthOf(t)).checks.redis.status).toBe('up');
    // The password is changed under the running service, and its connections are dropped.
    const admin = new Redis(server.url);
    cleanups.push(() => admin.disconnect());
    await admin.config('SET', 'requirepass', 'second-password');
    await admin.call('CLIENT', 'KILL', 'SKIPME', 'yes');
    const refused = await waitFor('the refusal in /health', async () => {
      const health = await healthOf(t);
      return health.checks.redis.detail?.includes('WRONGPASS') ? health : undefined;
    });
    expect(refused.checks.redis.status).toBe('down');
    expect(refused.checks.redis.detail).toMatch(/^redis refused the configured credentials: WRONGPASS/);
    expect(JSON.stringify(refused)).not.toContain('first-password');
  });
});

describe('the circuit breaker after an outage', () => {
  it('closes once the database is back, with /health as its only caller', async () => {
    const t = await startTestApp();
    const name = t.database?.name as string;
    cleanups.push(async () => {
      await setDatabaseReachable(name, true);
      await t.close();
    });
    await setDatabaseReachable(name, false);
    // Reads fail until the breaker opens.
    await waitFor('the breaker to open', async () => {
      await get(t, `${BASE}/capacity?tz=Asia/Tokyo`);
      return t.deps.readState.breaker().state === 'open' ? true : undefined;
    });
    await setDatabaseReachable(name, true);
    // No figures read from now on: only /health.
    const healthy = await waitFor(
      '/health to be healthy again',
      async () => {
        const res = await t.app.inject({ method: 'GET', url: '/health' });
        const body = res.json<{ status: string }>();
        return body.status === 'healthy' ? body : undefined;
      },
      20_000,
    );
    expect(healthy.status).toBe('healthy');
    expect(t.deps.readState.breaker().state).toBe('closed');
  });
});

describe('the worker role', () => {
  it('answers health, info and metrics, and nothing of the API, its documentation or the dashboard', async () => {
    const t = await startTestApp({ redis: true, env: { ROLE: 'worker' } });
    cleanups.push(() => t.close());
    for (const url of ['/health', '/health/live', '/health/ready', '/info', '/metrics'])
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    for (const url of [`${BASE}/system`, '/docs', '/openapi.json', '/'])
      expect((await get(t, url)).statusCode, url).toBe(404);
    // Its /info lists what it does, not what the API does.
    const info = (await t.app.inject({ method: 'GET', url: '/info' })).json<{ features: string[] }>();
    expect(info.features).toEqual(['redis-stream', 'redis-pubsub', 'cloudevents']);
  });
});

describe('the log of a read refused for want of the database', () => {
  it('says what failed, in words', async () => {
    const lines: string[] = [];
    const t = await startTestApp({
      env: { LOG_LEVEL: 'warn' },
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    const name = t.database?.name as string;
    cleanups.push(async () => {
      await setDatabaseReachable(name, true);
      await t.close();
    });
    await setDatabaseReachable(name, false);
    expect((await get(t, `${BASE}/capacity?tz=Asia/Tokyo`)).statusCode).toBe(503);
    const logged = lines
      .map((line) => JSON.parse(line) as { msg: string; err?: { type?: string; message?: unknown } })
      .find((l) => l.msg === 'dependency unavailable');
    expect(logged?.err?.type).toMatch(/UnavailableError$/);
    expect(logged?.err?.message).toMatch(/database|dependency/);
    expect(JSON.stringify(logged)).not.toContain('[object Object]');
    // What failed, not where in the code.
    expect(logged?.err).not.toHaveProperty('stack');
  });
});

describe('cache clear', () => {
  it('gives a new data version, so an old ETag no longer matches and the figures are read again', async () => {
    const t = await startTestApp();
    cleanups.push(() => t.close());
    const at = Date.UTC(2026, 10, 1);
    await ingestHttp(t.app, t.token, [
      eventCreated({
        id: 1,
        name: 'Before',
        category: 'music',
        capacity: 10,
        price: 1,
        createdAt: at,
        eventDate: at,
      }),
    ]);
    const first = await get(t, `${BASE}/events/1`);
    expect(first.json<{ data: { event_name: string } }>().data.event_name).toBe('Before');
    const etag = first.headers.etag as string;
    // A change behind the service's back: what a cache clear is for.
    await sql`update events set event_name = 'After' where event_id = 1`.execute(t.deps.database.db);
    const cleared = await t.app.inject({
      method: 'POST',
      url: `${BASE}/cache/clear`,
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(cleared.statusCode).toBe(200);
    const again = await get(t, `${BASE}/events/1`, { 'if-none-match': etag });
    expect(again.statusCode).toBe(200);
    expect(again.json<{ data: { event_name: string } }>().data.event_name).toBe('After');
    expect(again.headers.etag).not.toBe(etag);
  });
});
