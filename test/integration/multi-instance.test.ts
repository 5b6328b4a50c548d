/**
 * Two service instances on one PostgreSQL and one Redis: a batch committed through one is visible
 * through the other on the next read (no stale cache), and both deliver the live `change` event.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { getData, ingestHttp } from '../helpers/conformance.ts';
import { runCli } from '../helpers/cli.ts';
import { REDIS_URL, waitFor } from '../helpers/db.ts';
import { listen } from '../helpers/sse.ts';

const event = (id: number) =>
  JSON.stringify({
    type: 'EventCreated',
    event_id: id,
    event_data: {
      id,
      name: `Event ${id}`,
      category: 'music',
      capacity: 100,
      created_at: '2026-11-01T10:00:00',
    },
  });
const booking = (id: number, eventId: number) =>
  JSON.stringify({
    type: 'BookingCreated',
    booking_id: id,
    event_id: eventId,
    user_id: id,
    booking_data: { quantity: 1, total_amount: 10, currency: 'USD', created_at: '2026-11-10T10:00:00' },
  });

describe('two instances on one database and one Redis', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ redis: true });
    b = await startTestApp({ redis: true, databaseUrl: a.database?.url ?? '' });
    await a.app.listen({ port: 0, host: '127.0.0.1' });
    await b.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('shows a batch committed through one instance on the next read through the other', async () => {
    const url = '/api/v1/analytics/system?as_of=2026-11-20';
    await ingestHttp(a.app, a.token, [event(1), booking(1, 1)]);
    expect((await getData(b.app, b.token, url)).total_bookings).toBe(1);
    expect((await getData(a.app, a.token, url)).total_bookings).toBe(1);
    // Both answers are cached now; the next batch must not leave either instance on the old figure.
    await ingestHttp(a.app, a.token, [booking(2, 1)]);
    expect((await getData(b.app, b.token, url)).total_bookings).toBe(2);
    await ingestHttp(b.app, b.token, [booking(3, 1)]);
    expect((await getData(a.app, a.token, url)).total_bookings).toBe(3);
  });

  it('drops cached answers on every instance when one is told to clear its cache', async () => {
    const url = '/api/v1/analytics/events/1';
    const name = async (t: TestApp) => (await getData(t.app, t.token, url)).event_name;
    await ingestHttp(a.app, a.token, [event(1)]);
    const before = await name(b);
    expect(await name(b)).toBe(before); // cached on b now
    await sql`update events set event_name = 'Renamed by hand' where event_id = 1`.execute(
      a.deps.database.db,
    );
    const cleared = await a.app.inject({
      method: 'POST',
      url: '/api/v1/analytics/cache/clear',
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(cleared.statusCode).toBe(200);
    expect(await name(b)).toBe('Renamed by hand');
  });

  it('delivers the live change event on both instances', async () => {
    const port = (t: TestApp) => (t.app.server.address() as { port: number }).port;
    const streamToken = async (t: TestApp) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/stream/token',
        headers: { authorization: `Bearer ${t.token}` },
      });
      return res.json<{ data: { token: string } }>().data.token;
    };
    const streamA = await listen(
      `http://127.0.0.1:${port(a)}/api/v1/analytics/stream?token=${await streamToken(a)}`,
    );
    const streamB = await listen(
      `http://127.0.0.1:${port(b)}/api/v1/analytics/stream?token=${await streamToken(b)}`,
    );
    try {
      const results = await ingestHttp(a.app, a.token, [booking(4, 1)]);
      expect(results[0]?.outcome).toBe('processed');
      const version =
        (await getData(a.app, a.token, '/api/v1/analytics/system')) && (await a.deps.readState.dataVersion());
      for (const s of [streamA, streamB]) {
        await waitFor(
          'the change event',
          async () => (s.events.some((e) => e.data.data_version >= version) ? true : undefined),
          5_000,
        );
      }
    } finally {
      streamA.close();
      streamB.close();
    }
  });

  it('refuses the stream without a valid stream token, and a long-lived access token in the URL', async () => {
    const bad = await b.app.inject({ method: 'GET', url: '/api/v1/analytics/stream?token=not-a-token' });
    expect(bad.statusCode).toBe(401);
    const access = await b.app.inject({ method: 'GET', url: `/api/v1/analytics/stream?token=${b.token}` });
    expect(access.statusCode).toBe(401);
    expect(access.json<{ detail: string }>().detail).toMatch(/stream token/);
    const long = await b.mint({ type: 'stream', expiresInSeconds: 3600 });
    expect(
      (await b.app.inject({ method: 'GET', url: `/api/v1/analytics/stream?token=${long}` })).statusCode,
    ).toBe(401);
  });
});

describe('a rebuild run from the command line', () => {
  let a: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ redis: true });
    await a.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => a.close());

  it('reaches the live streams of the running instances through Redis', async () => {
    await ingestHttp(a.app, a.token, [event(1), booking(1, 1)]);
    const port = (a.app.server.address() as { port: number }).port;
    const stream = await listen(`http://127.0.0.1:${port}/api/v1/analytics/stream`, {
      authorization: `Bearer ${a.token}`,
    });
    try {
      const run = await runCli(['rebuild'], {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: a.database?.url ?? '',
        REDIS_URL,
        JWT_SECRET: TEST_SECRET,
        LOG_LEVEL: 'info',
      });
      expect(run.code).toBe(0);
      // The report alone on stdout, whatever is logged (on stderr).
      const report = JSON.parse(run.stdout) as { data_version: number };
      const heard = await waitFor(
        'the change of the rebuild',
        async () => stream.events.find((e) => e.data.data_version === report.data_version),
        5_000,
      );
      expect(heard.data.changed).toContain('daily');
    } finally {
      stream.close();
    }
  });
});

describe('two instances on one database, without Redis', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ databaseUrl: a.database?.url ?? '' });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('answers a min_version read on one as soon as the other commits that version', async () => {
    await ingestHttp(a.app, a.token, [event(1)]);
    const next = (await a.deps.readState.dataVersion()) + 1;
    // No bus between them: b learns of a's commit by reading the version again while it waits.
    const started = performance.now();
    const read = b.app.inject({
      method: 'GET',
      url: `/api/v1/analytics/system?min_version=${next}`,
      headers: { authorization: `Bearer ${b.token}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ingestHttp(a.app, a.token, [booking(1, 1)]);
    const res = await read;
    expect(res.statusCode).toBe(200);
    expect(res.json<{ meta: { data_version: number } }>().meta.data_version).toBeGreaterThanOrEqual(next);
    expect(performance.now() - started).toBeLessThan(2_500);
  });
});
