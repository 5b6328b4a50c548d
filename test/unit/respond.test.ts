import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/api/errors.ts';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip } from '../../src/api/negotiation.ts';
import { serveRead, type ReadState } from '../../src/api/respond.ts';
import { createResponseCache } from '../../src/platform/cache.ts';
import { DatabaseUnavailableError } from '../../src/platform/db-guard.ts';

/** A read state over a pretend database that can be switched off. */
function pretendDatabase() {
  const db = { up: true, version: 1, figure: 10 };
  const unavailable = () => new DatabaseUnavailableError('the database is unavailable', 7_000);
  const state: ReadState = {
    cache: createResponseCache({ ttlSeconds: 60 }),
    answerPeriodMs: 60_000,
    dataVersion: async () => {
      if (!db.up) throw unavailable();
      return db.version;
    },
    knownVersion: () => db.version,
    waitForVersion: async (v) => {
      if (!db.up) throw unavailable();
      return db.version >= v;
    },
    read: async (query) => {
      if (!db.up) throw unavailable();
      return query();
    },
    breaker: () => ({ state: 'closed', failures: 0, retry_in_ms: 0, cooldown_ms: 5_000, opened_at: null }),
  };
  return { db, state };
}

async function appOver(state: ReadState, compute: () => Promise<unknown>): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler((error, _req, reply) =>
    error instanceof DomainError
      ? reply.code(error.status).headers(error.headers).send({ detail: error.message })
      : reply.code(500).send({ detail: 'internal' }),
  );
  app.get<{ Querystring: { min_version?: string } }>('/figures', async (req, reply) =>
    serveRead(state, req, reply, {
      ctx: { tz: 'UTC', asOf: '2026-11-28' },
      minVersion: req.query.min_version === undefined ? undefined : Number(req.query.min_version),
      compute,
      csv: { columns: ['figure', 'note', 'series'], rows: (d) => [d as Record<string, unknown>] },
    }),
  );
  await app.ready();
  return app;
}

interface Body {
  data: { figure: number };
  meta: { data_version: number; cached: boolean; stale?: boolean };
}

describe('serveRead', () => {
  it('answers from the database, then from the cache at the same data version', async () => {
    const { db, state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: db.figure }));
    const first = await app.inject('/figures');
    const second = await app.inject('/figures');
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(first.json<Body>().meta).toMatchObject({ data_version: 1, cached: false });
    expect(second.json<Body>().meta).toMatchObject({ data_version: 1, cached: true });
    expect(second.json<Body>().meta.stale).toBeUndefined();
  });

  it('keeps one ETag and one cached body for a whole answer period, and changes both together', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.UTC(2026, 10, 28, 12, 0, 1));
      const { db, state } = pretendDatabase();
      const app = await appOver(state, async () => ({ figure: db.figure }));
      const first = await app.inject('/figures');
      const tag = String(first.headers.etag);
      // 58 s later, still the same period (a minute here): the same tag, the same body.
      vi.setSystemTime(Date.UTC(2026, 10, 28, 12, 0, 59));
      db.figure = 11; // an uptime figure moved with the clock
      const same = await app.inject({ url: '/figures', headers: { 'if-none-match': tag } });
      expect(same.statusCode).toBe(304);
      expect((await app.inject('/figures')).json<Body>().data.figure).toBe(10);
      // The next period: a new body and a new tag, at the same data version.
      vi.setSystemTime(Date.UTC(2026, 10, 28, 12, 1, 0));
      const next = await app.inject({ url: '/figures', headers: { 'if-none-match': tag } });
      expect(next.statusCode).toBe(200);
      expect(next.headers.etag).not.toBe(tag);
      expect(next.json<Body>().data.figure).toBe(11);
    } finally {
      vi.useRealTimers();
    }
  });

  it('serves the last answer of an older version, marked stale, while the database is down', async () => {
    const { db, state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: db.figure }));
    await app.inject('/figures');
    db.version = 2; // a later batch, never read through this request
    db.up = false;
    const res = await app.inject('/figures');
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-data-stale']).toBe('true');
    expect(res.json<Body>()).toMatchObject({
      data: { figure: 10 },
      meta: { data_version: 1, cached: true, stale: true },
    });
    const csv = await app.inject('/figures?format=csv');
    expect(csv.statusCode).toBe(503); // CSV was never asked for: nothing to fall back on
  });

  it('tags a stale answer apart, so a client holding it gets the fresh one once the database is back', async () => {
    const { db, state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: db.figure }));
    const fresh = await app.inject('/figures');
    db.up = false;
    const stale = await app.inject('/figures');
    expect(stale.headers['x-data-stale']).toBe('true');
    expect(stale.headers.etag).not.toBe(fresh.headers.etag);
    db.up = true;
    const back = await app.inject({
      url: '/figures',
      headers: { 'if-none-match': String(stale.headers.etag) },
    });
    expect(back.statusCode).toBe(200);
    expect(back.json<Body>().meta.stale).toBeUndefined();
    expect(back.headers.etag).toBe(fresh.headers.etag);
  });

  it('serves a stale CSV answer as it was cached', async () => {
    const { db, state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: db.figure }));
    const fresh = await app.inject('/figures?format=csv');
    db.up = false;
    const stale = await app.inject('/figures?format=csv');
    expect(stale.statusCode).toBe(200);
    expect(stale.headers['x-data-stale']).toBe('true');
    expect(stale.body).toBe(fresh.body);
  });

  it('answers 503 with Retry-After when nothing was cached for the request', async () => {
    const { db, state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: db.figure }));
    db.up = false;
    const res = await app.inject('/figures');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
  });

  it('does not serve a stale answer older than the version the client asked to read', async () => {
    const { db, state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: db.figure }));
    await app.inject('/figures');
    db.up = false;
    expect((await app.inject('/figures?min_version=2')).statusCode).toBe(503);
    expect((await app.inject('/figures?min_version=1')).statusCode).toBe(200);
  });

  it('lets a failure that is not an outage through as it is, stale answer or not', async () => {
    const { db, state } = pretendDatabase();
    let calls = 0;
    const app = await appOver(state, async () => {
      if (++calls > 1) throw new Error('a bug');
      return { figure: 1 };
    });
    await app.inject('/figures');
    db.version = 2;
    expect((await app.inject('/figures')).statusCode).toBe(500);
  });

  it('answers gzip to a client that takes it, with its own ETag, and plain bytes to one that does not', async () => {
    const { state } = pretendDatabase();
    const series = Array.from({ length: 200 }, (_, i) => ({ day: i, bookings: i * 3 }));
    const app = await appOver(state, async () => ({ figure: 1, series }));
    const zipped = { 'accept-encoding': 'gzip, deflate, br' };
    const miss = await app.inject({ url: '/figures', headers: zipped });
    const hit = await app.inject({ url: '/figures', headers: zipped });
    const plain = await app.inject('/figures');
    for (const res of [miss, hit]) {
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.headers.vary).toContain('Accept-Encoding');
      expect(JSON.parse(gunzipSync(res.rawPayload).toString('utf8'))).toMatchObject({
        data: { figure: 1, series },
      });
    }
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.json<Body>().meta.cached).toBe(true);
    expect(gunzipSync(hit.rawPayload).toString('utf8')).toBe(plain.body);
    expect(hit.headers.etag).not.toBe(plain.headers.etag);
    const revalidated = await app.inject({
      url: '/figures',
      headers: { ...zipped, 'if-none-match': String(hit.headers.etag) },
    });
    expect(revalidated.statusCode).toBe(304);
    expect(
      (await app.inject({ url: '/figures', headers: { 'if-none-match': String(hit.headers.etag) } }))
        .statusCode,
    ).toBe(200);
  });

  it('names Accept and Accept-Encoding once each in Vary when a fresh read falls back to the stale answer', async () => {
    const { db, state } = pretendDatabase();
    const series = Array.from({ length: 200 }, (_, i) => ({ day: i }));
    let fail = false;
    const app = await appOver(state, async () => {
      if (fail) throw new DatabaseUnavailableError('the database is unavailable', 1_000);
      return { figure: db.figure, series };
    });
    await app.inject('/figures');
    db.version = 2;
    fail = true;
    const res = await app.inject({ url: '/figures?format=csv', headers: { 'accept-encoding': 'gzip' } });
    const stale = await app.inject({ url: '/figures', headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(503);
    expect(stale.statusCode).toBe(200);
    expect(stale.headers['x-data-stale']).toBe('true');
    expect(stale.headers.vary).toBe('Accept, Accept-Encoding');
    expect(JSON.parse(gunzipSync(stale.rawPayload).toString('utf8'))).toMatchObject({
      meta: { stale: true },
    });
  });

  it('gzips CSV as well', async () => {
    const { state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: 1, note: 'x'.repeat(2_000) }));
    const res = await app.inject({ url: '/figures?format=csv', headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.rawPayload).toString('utf8')).toContain('x'.repeat(2_000));
  });

  it('leaves a small answer uncompressed', async () => {
    const { state } = pretendDatabase();
    const app = await appOver(state, async () => ({ figure: 1 }));
    const res = await app.inject({ url: '/figures', headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.json<Body>().data.figure).toBe(1);
  });
});

describe('acceptsGzip', () => {
  const asks = (header: string | undefined) =>
    acceptsGzip({ headers: header === undefined ? {} : { 'accept-encoding': header } } as Parameters<
      typeof acceptsGzip
    >[0]);
  it('reads Accept-Encoding as RFC 9110 says', () => {
    expect(asks(undefined)).toBe(false);
    expect(asks('identity')).toBe(false);
    expect(asks('br, deflate')).toBe(false);
    expect(asks('gzip')).toBe(true);
    expect(asks('deflate, GZIP;q=0.5')).toBe(true);
    expect(asks('*')).toBe(true);
    expect(asks('gzip;q=0')).toBe(false);
    expect(asks('gzip; q=0.000')).toBe(false);
    expect(asks('gzip;q=0, *')).toBe(false);
    expect(asks('*;q=0')).toBe(false);
    // §8.4.1.3: x-gzip is gzip.
    expect(asks('x-gzip')).toBe(true);
    expect(asks('x-gzip;q=0, *')).toBe(false);
  });
});
