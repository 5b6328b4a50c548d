/**
 * Rate limiting of /api/v1/analytics/* against the real app: the limit and its headers, who is
 * counted under which key, two instances sharing the limit through Redis, and Redis outages that
 * must never make a request fail.
 */
import { randomInt } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/db.ts';
import { expectProblem } from '../support/problem.ts';

const API = '/api/v1/analytics';
const apps: TestApp[] = [];

async function start(options: Parameters<typeof startTestApp>[0]): Promise<TestApp> {
  const app = await startTestApp(options);
  apps.push(app);
  return app;
}

afterAll(async () => {
  // Second instances first: the first one owns (and drops) the database.
  for (const app of apps.reverse()) await app.close();
});

/** A token for a user no other test uses, so each test starts with a fresh count. */
function freshUser(t: TestApp): Promise<string> {
  return t.mint({ userId: randomInt(1_000_000, 2 ** 40) });
}

function system(
  t: TestApp,
  token: string | undefined,
  remoteAddress = '127.0.0.1',
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'GET',
    url: `${API}/system`,
    remoteAddress,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

function remaining(response: LightMyRequestResponse): number {
  return Number(response.headers['ratelimit-remaining']);
}

function expectLimited(response: LightMyRequestResponse, limit: number): void {
  const problem = expectProblem(response, 429);
  expect(problem.title).toBe('Too Many Requests');
  expect(response.headers['ratelimit-limit']).toBe(String(limit));
  expect(response.headers['ratelimit-remaining']).toBe('0');
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(Number(response.headers['ratelimit-reset'])).toBeLessThanOrEqual(60);
}

describe('one instance', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await start({ env: { RATE_LIMIT_ANALYTICS: '3', RATE_LIMIT_WINDOW: '1' } });
  });

  it('counts down RateLimit-Remaining and answers 429 with Retry-After once the limit is reached', async () => {
    const token = await freshUser(t);
    const opened = Date.now();
    const served = [await system(t, token), await system(t, token), await system(t, token)];
    expect(served.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(served.map((r) => r.headers['ratelimit-limit'])).toEqual(['3', '3', '3']);
    expect(served.map(remaining)).toEqual([2, 1, 0]);
    expect(Number(served[0]?.headers['ratelimit-reset'])).toBeGreaterThan(0);

    const limited = await system(t, token);
    expectLimited(limited, 3);
    // Rounded up: a client that waits as told is not refused again (the window opened at `opened`
    // or later).
    const left = 60_000 - (Date.now() - opened);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(Math.ceil(left / 1000));
    // Every analytics route shares the one limit (POST /ingest has its own, below).
    expectLimited(
      await t.app.inject({
        method: 'GET',
        url: `${API}/events`,
        headers: { authorization: `Bearer ${token}` },
      }),
      3,
    );
    expectLimited(
      await t.app.inject({
        method: 'POST',
        url: `${API}/cache/clear`,
        headers: { authorization: `Bearer ${token}` },
      }),
      3,
    );
  });

  it('counts each user on their own, whatever address they come from', async () => {
    const [first, second] = [await freshUser(t), await freshUser(t)];
    for (let i = 0; i < 3; i++) expect((await system(t, first, `10.1.0.${i + 1}`)).statusCode).toBe(200);
    expectLimited(await system(t, first, '10.1.0.99'), 3);
    expect((await system(t, second, '10.1.0.1')).statusCode).toBe(200);
  });

  it('counts callers without a valid token by address, so tokens cannot be guessed at full speed', async () => {
    const address = '10.2.0.1';
    for (let i = 0; i < 3; i++) expectProblem(await system(t, `guess-${i}`, address), 401);
    expectLimited(await system(t, 'guess-4', address), 3);
    expectLimited(await system(t, undefined, address), 3);
    // Another address, and a valid user on the limited address, are still served.
    expectProblem(await system(t, undefined, '10.2.0.2'), 401);
    expect((await system(t, await freshUser(t), address)).statusCode).toBe(200);
  });

  it("counts a valid token refused for its user (not an admin, disabled) as that user's, not the address's", async () => {
    const address = '10.3.0.1';
    for (let i = 0; i < 3; i++) expectProblem(await system(t, `guess-${i}`, address), 401);
    expectLimited(await system(t, undefined, address), 3);
    // api.md: "valid token without the admin role → 403", rate limited "per user".
    const nonAdmin = await t.mint({ role: 'user', userId: 905 });
    for (let i = 0; i < 3; i++) expectProblem(await system(t, nonAdmin, address), 403);
    expectLimited(await system(t, nonAdmin, '10.3.0.2'), 3);
    // A disabled user's token is valid too (api.md: "refused with 401 even with a valid token").
    const disabled = await t.mint({ role: 'admin', userId: 906 });
    const res = await t.app.inject({
      method: 'POST',
      url: `${API}/admin/users/906/disable`,
      headers: { authorization: `Bearer ${await freshUser(t)}` },
    });
    expect(res.statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expectProblem(await system(t, disabled, address), 401);
    expectLimited(await system(t, disabled, '10.3.0.3'), 3);
  });

  it('groups IPv6 callers by their /64', async () => {
    for (let i = 0; i < 3; i++) expectProblem(await system(t, undefined, `2001:db8:1:2::${i + 1}`), 401);
    expectLimited(await system(t, undefined, '2001:db8:1:2:ffff::9'), 3);
    expectProblem(await system(t, undefined, '2001:db8:1:3::1'), 401);
  });

  it('leaves health, metrics, docs and the OpenAPI document unlimited', async () => {
    const address = '10.3.0.1';
    for (let i = 0; i < 4; i++) await system(t, undefined, address);
    expectLimited(await system(t, undefined, address), 3);
    for (const url of ['/health', '/health/live', '/metrics', '/openapi.json', '/docs/']) {
      const response = await t.app.inject({ method: 'GET', url, remoteAddress: address });
      expect(response.statusCode, url).not.toBe(429);
      expect(response.headers['ratelimit-limit'], url).toBeUndefined();
    }
  });
});

describe('POST /ingest, a budget of its own', () => {
  function ingest(t: TestApp, token: string): Promise<LightMyRequestResponse> {
    return t.app.inject({
      method: 'POST',
      url: `${API}/ingest`,
      headers: { authorization: `Bearer ${token}` },
      payload: { messages: [{ type: 'PaymentCompleted', booking_id: 1 }] },
    });
  }

  it('counts producers apart from readers: neither uses up the other', async () => {
    const t = await start({
      env: { RATE_LIMIT_ANALYTICS: '2', RATE_LIMIT_INGEST: '3', RATE_LIMIT_WINDOW: '1' },
    });
    const token = await freshUser(t);
    expect((await system(t, token)).statusCode).toBe(200);
    expect((await system(t, token)).statusCode).toBe(200);
    expectLimited(await system(t, token), 2);

    const ingested = [await ingest(t, token), await ingest(t, token), await ingest(t, token)];
    expect(ingested.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(ingested.map((r) => r.headers['ratelimit-limit'])).toEqual(['3', '3', '3']);
    expect(ingested.map(remaining)).toEqual([2, 1, 0]);
    expectLimited(await ingest(t, token), 3);

    // A producer at its limit leaves its reads alone.
    const producer = await freshUser(t);
    for (let i = 0; i < 3; i++) expect((await ingest(t, producer)).statusCode).toBe(200);
    expectLimited(await ingest(t, producer), 3);
    expect(remaining(await system(t, producer))).toBe(1);
  });

  it('gives a caller without a valid token the analytics budget on ingest too, by address', async () => {
    for (const ingestLimit of ['3', '0']) {
      const t = await start({
        env: { RATE_LIMIT_ANALYTICS: '2', RATE_LIMIT_INGEST: ingestLimit, RATE_LIMIT_WINDOW: '1' },
      });
      const refused = [await ingest(t, 'not-a-token'), await ingest(t, 'not-a-token')];
      expect(refused.map((r) => r.statusCode)).toEqual([401, 401]);
      expect(refused.map((r) => r.headers['ratelimit-limit'])).toEqual(['2', '2']);
      expectLimited(await ingest(t, 'not-a-token'), 2);
      // A producer with a valid token keeps its own budget.
      expect((await ingest(t, await freshUser(t))).statusCode).toBe(200);
    }
  });

  it('is unlimited with RATE_LIMIT_INGEST=0', async () => {
    const t = await start({
      env: { RATE_LIMIT_ANALYTICS: '2', RATE_LIMIT_INGEST: '0', RATE_LIMIT_WINDOW: '1' },
    });
    const token = await freshUser(t);
    for (let i = 0; i < 5; i++) {
      const response = await ingest(t, token);
      expect(response.statusCode).toBe(200);
      expect(response.headers['ratelimit-limit']).toBeUndefined();
    }
    expect(remaining(await system(t, token))).toBe(1);
  });
});

describe('two instances on one database and Redis', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const env = { RATE_LIMIT_ANALYTICS: '4', RATE_LIMIT_WINDOW: '1' };
    a = await start({ redis: true, env });
    b = await start({ redis: true, env, databaseUrl: a.database?.url ?? '' });
  });

  it('share one limit per user', async () => {
    expect([a.deps.redis?.status, b.deps.redis?.status]).toEqual(['ready', 'ready']);
    const token = await freshUser(a);
    expect(remaining(await system(a, token))).toBe(3);
    expect(remaining(await system(b, token))).toBe(2);
    expect(remaining(await system(a, token))).toBe(1);
    expect(remaining(await system(b, token))).toBe(0);
    expectLimited(await system(a, token), 4);
    expectLimited(await system(b, token), 4);
  });

  it('keep no window longer than their own, though an instance configured longer began it', async () => {
    const longer = await start({
      redis: true,
      env: { RATE_LIMIT_ANALYTICS: '4', RATE_LIMIT_WINDOW: '15' },
      databaseUrl: a.database?.url ?? '',
    });
    const token = await freshUser(a);
    expect(Number((await system(longer, token)).headers['ratelimit-reset'])).toBeGreaterThan(60);
    const shorter = await system(a, token);
    expect(remaining(shorter)).toBe(2);
    expect(Number(shorter.headers['ratelimit-reset'])).toBeLessThanOrEqual(60);
  });

  it('share one limit per address for callers without a valid token', async () => {
    const address = '10.4.0.1';
    for (const t of [a, b, a, b]) expectProblem(await system(t, undefined, address), 401);
    expectLimited(await system(a, undefined, address), 4);
    expectLimited(await system(b, undefined, address), 4);
  });
});

describe('when Redis is unreachable', () => {
  it(
    'serves and limits in-process on an instance whose Redis never answered',
    async () => {
      const t = await start({
        env: { REDIS_URL: 'redis://127.0.0.1:6399', RATE_LIMIT_ANALYTICS: '3', RATE_LIMIT_WINDOW: '1' },
      });
      expect(t.deps.redis?.status).not.toBe('ready');
      const token = await freshUser(t);
      const served = [await system(t, token), await system(t, token), await system(t, token)];
      expect(served.map((r) => r.statusCode)).toEqual([200, 200, 200]);
      expect(served.map(remaining)).toEqual([2, 1, 0]);
      expectLimited(await system(t, token), 3);
    },
    // The app retries Redis at start (deps.ts) for about half a minute before it gives up.
    120_000,
  );

  it('keeps serving and limiting, without a lost count, when Redis goes away mid-window', async () => {
    const t = await start({ redis: true, env: { RATE_LIMIT_ANALYTICS: '4', RATE_LIMIT_WINDOW: '1' } });
    const token = await freshUser(t);
    expect(remaining(await system(t, token))).toBe(3);
    expect(remaining(await system(t, token))).toBe(2);

    // The connection drops under the requests that follow, not before them.
    t.deps.redis?.disconnect();
    const started = Date.now();
    expect(remaining(await system(t, token))).toBe(1);
    expect(remaining(await system(t, token))).toBe(0);
    expectLimited(await system(t, token), 4);
    expect(Date.now() - started).toBeLessThan(2_000);
    // ioredis reports 'end' once the socket's close event has fired, which under load can come
    // after the requests above: wait for it rather than race it.
    await waitFor(
      'the Redis connection to close',
      async () => (t.deps.redis?.status === 'end' ? true : undefined),
      5_000,
    );
    // Back, so that closing the app removes the answers it cached.
    await t.deps.redis?.connect();
  });
});
