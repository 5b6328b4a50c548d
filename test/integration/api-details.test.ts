/**
 * The finer points of api.md a client meets: 400s that name the rule of the route at hand, dates
 * the service can compute with, from/to wherever days is taken, the envelope's meta on every
 * success, validators that never revalidate an error, Accept read with its q-values, and CSV
 * cells a spreadsheet will not run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ingestHttp } from '../helpers/conformance.ts';
import { bookingMessage, eventCreated, jazzNightAround } from '../support/messages.ts';

const BASE = '/api/v1/analytics';
const DAY = Date.UTC(2026, 10, 3, 12);

describe('API details', () => {
  let t: TestApp;
  const auth = () => ({ authorization: `Bearer ${t.token}` });
  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: `${BASE}${url}`, headers: { ...auth(), ...headers } });
  const detailOf = async (url: string, method: 'GET' | 'POST' = 'GET') => {
    const res = await t.app.inject({ method, url: `${BASE}${url}`, headers: auth() });
    expect(res.statusCode, url).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    return res.json<{ detail: string }>().detail;
  };

  beforeAll(async () => {
    t = await startTestApp();
    const { lifecycle } = jazzNightAround(DAY);
    await ingestHttp(t.app, t.token, lifecycle);
  });
  afterAll(async () => t.close());

  it("names the allowed range of the route's own parameter in a 400", async () => {
    expect(await detailOf('/top-events?limit=51')).toBe('limit must be an integer from 1 to 50');
    expect(await detailOf('/events?limit=0')).toBe('limit must be an integer from 1 to 500');
    expect(await detailOf('/events?offset=1000001')).toBe('offset must be an integer from 0 to 1000000');
    expect(await detailOf('/events?sort=foo')).toMatch(/^sort must be one of event_id, event_name, /);
    expect(await detailOf('/daily?granularity=year')).toBe('granularity must be one of day, week, month');
    expect(await detailOf('/rebuild?force=maybe', 'POST')).toBe('force must be true or false');
    // A bound left out is named with the date it took: the caller did not write it.
    expect(await detailOf('/daily?from=2026-03-01&to=2026-02-01')).toBe(
      'from (2026-03-01) must not be after to (2026-02-01)',
    );
    expect(await detailOf('/daily?from=2027-01-01&as_of=2026-11-29')).toBe(
      'from (2027-01-01) must not be after to (not given: as_of, 2026-11-29)',
    );
    expect(await detailOf('/booking-trends?from=2020-01-01&as_of=2026-11-29')).toBe(
      'from (2020-01-01) and to (not given: as_of, 2026-11-29) must be at most 731 days apart',
    );
    expect(await detailOf('/daily?days=400')).toBe('days must be an integer from 1 to 365');
  });

  it('takes every safe integer as an id, and names the same range it enforces', async () => {
    expect((await get('/events/1000000000000000')).statusCode).toBe(404);
    expect(await detailOf('/events/99999999999999999')).toBe(
      'event_id must be an integer from 0 to 9007199254740991',
    );
  });

  it('refuses dates it cannot compute with as a 400, never a 500', async () => {
    for (const url of [
      '/system?as_of=0000-01-01',
      '/system?as_of=0001-01-15',
      '/daily?as_of=0001-01-01&days=2',
      '/daily?from=0000-01-01&to=0000-01-02',
      '/daily?from=3000-01-01&to=3000-01-02',
    ]) {
      expect(await detailOf(url)).toMatch(/must be a date YYYY-MM-DD from 1900-01-01 to 2999-12-31$/);
    }
    expect((await get('/system?as_of=1900-01-01')).statusCode).toBe(200);
  });

  it('takes from/to wherever it takes days', async () => {
    const revenue = await get('/revenue?from=2026-11-01&to=2026-11-07');
    expect(revenue.statusCode).toBe(200);
    expect(revenue.json()).toMatchObject({
      data: { from: '2026-11-01', to: '2026-11-07', period_days: 7, total_revenue: 80 },
    });
    expect(
      revenue.json<{ data: { daily_revenue_breakdown: unknown[] } }>().data.daily_revenue_breakdown,
    ).toHaveLength(7);

    const event = await get('/events/7?from=2026-11-02&to=2026-11-04');
    expect(event.statusCode).toBe(200);
    const daily = event.json<{ data: { daily: { date: string; new_bookings: number }[] } }>().data.daily;
    expect(daily.map((d) => d.date)).toEqual(['2026-11-02', '2026-11-03', '2026-11-04']);
    expect(daily[1]?.new_bookings).toBe(2);

    const dashboard = await get('/dashboard?from=2026-11-03&to=2026-11-03');
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.json()).toMatchObject({
      data: {
        daily_analytics: { from: '2026-11-03', to: '2026-11-03' },
        revenue_analytics: { period_days: 1, total_revenue: 80 },
      },
    });
    expect(await detailOf('/revenue?days=7&from=2026-11-01')).toBe('use either days or from/to, not both');
  });

  it('completes the envelope with meta on every success answer', async () => {
    const ingest = await t.app.inject({
      method: 'POST',
      url: `${BASE}/ingest`,
      headers: auth(),
      payload: { messages: [bookingMessage('BookingCreated', jazzNightAround(DAY).booking(3))] },
    });
    const answer = ingest.json<{ data: { data_version: number }; meta: Record<string, unknown> }>();
    // Not a figure, so no as_of was asked for: today in the reporting zone (UTC here), as for a read.
    const today = [
      new Date().toISOString().slice(0, 10),
      new Date(Date.now() + 60_000).toISOString().slice(0, 10),
    ];
    expect(answer.meta).toMatchObject({ cached: false, data_version: answer.data.data_version });
    expect(today).toContain(answer.meta.as_of);
    expect(Date.parse(String(answer.meta.generated_at))).not.toBeNaN();

    let version = answer.data.data_version;
    for (const [method, url] of [
      ['GET', '/dead-letters'],
      ['POST', '/cache/clear'],
      ['POST', '/stream/token'],
      ['POST', '/admin/users/77/enable'],
    ] as const) {
      const res = await t.app.inject({ method, url: `${BASE}${url}`, headers: auth() });
      expect(res.statusCode, url).toBe(200);
      // A cache clear raises the data version (every cached answer and ETag is stale after it).
      if (url === '/cache/clear') version++;
      const meta = res.json<{ meta: Record<string, unknown> }>().meta;
      expect(meta, url).toMatchObject({ cached: false, data_version: version });
      expect(today, url).toContain(meta.as_of);
    }
  });

  it('takes as_of and tz on the dead-letter list and the live stream too, and checks them', async () => {
    const listed = await get('/dead-letters?as_of=2026-01-01&tz=Europe/Paris');
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ meta: { as_of: string } }>().meta.as_of).toBe('2026-01-01');
    expect(await detailOf('/dead-letters?tz=Mars/Olympus')).toMatch(/^tz must be an IANA time zone/);
    expect(await detailOf('/dead-letters?as_of=2026-02-30')).toMatch(/^as_of must be a date/);
    expect(await detailOf('/stream?tz=Mars/Olympus')).toMatch(/^tz must be an IANA time zone/);
  });

  it('lists dead letters as CSV when asked, like every list', async () => {
    await ingestHttp(t.app, t.token, ['not json at all', '{"type":"BookingCreated","booking_id":"x"}']);
    for (const res of [
      await get('/dead-letters?format=csv'),
      await get('/dead-letters', { accept: 'text/csv' }),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers.vary).toContain('Accept');
      const [header, ...rows] = res.body.trim().split('\r\n');
      expect(header).toBe('id,reason,detail,transport,channel,received_at,raw,raw_bytes,raw_truncated');
      expect(rows.some((r) => r.includes(',invalid_json,') && r.endsWith(',not json at all,15,false'))).toBe(
        true,
      );
      expect(rows.some((r) => r.includes(',missing_booking_id,'))).toBe(true);
    }
    expect((await get('/dead-letters')).headers['content-type']).toContain('application/json');
  });

  it('filters dead letters only by a reason there is', async () => {
    expect(await detailOf('/dead-letters?reason=bogus')).toMatch(
      /^reason must be one of too_large, invalid_json, /,
    );
  });

  it('refuses unknown query parameters on every route, POSTs included', async () => {
    expect(await detailOf('/cache/clear?foo=1', 'POST')).toMatch(/foo/);
    expect(await detailOf('/reconcile?foo=1', 'POST')).toMatch(/foo/);
    expect(await detailOf('/stream/token?foo=1', 'POST')).toMatch(/foo/);
    expect(await detailOf('/admin/users/77/enable?foo=1', 'POST')).toMatch(/foo/);
    const ingest = await t.app.inject({
      method: 'POST',
      url: `${BASE}/ingest?foo=1`,
      headers: auth(),
      payload: { messages: ['{}'] },
    });
    expect(ingest.statusCode).toBe(400);
    expect(ingest.json<{ detail: string }>().detail).toMatch(/foo/);
  });

  it('sorts events by name (or event_name), A to Z unless asked otherwise', async () => {
    await ingestHttp(t.app, t.token, [
      eventCreated({
        id: 801,
        name: 'Aardvark Live',
        category: 'music',
        capacity: 10,
        price: 1,
        createdAt: DAY,
        eventDate: DAY,
      }),
      eventCreated({
        id: 802,
        name: 'Zebra Night',
        category: 'music',
        capacity: 10,
        price: 1,
        createdAt: DAY,
        eventDate: DAY,
      }),
    ]);
    const names = async (query: string) =>
      (await get(`/events?${query}&limit=500`))
        .json<{ data: { events: { event_name: string }[] } }>()
        .data.events.map((e) => e.event_name);
    const ascending = await names('sort=name');
    expect(ascending[0]).toBe('Aardvark Live');
    expect(ascending.at(-1)).toBe('Zebra Night');
    expect(await names('sort=event_name')).toEqual(ascending);
    expect(await names('sort=name&order=desc')).toEqual([...ascending].reverse());
  });

  it('answers equivalent requests from one cached answer under one ETag', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    const first = await get('/booking-trends');
    expect(first.headers['x-cache']).toBe('MISS');
    for (const url of [
      '/booking-trends?days=30',
      '/booking-trends?days=030',
      '/booking-trends?tz=utc',
      '/booking-trends?tz=Etc/UTC',
      `/booking-trends?as_of=${today}`,
      `/booking-trends?from=${monthAgo}&to=${today}`,
      `/booking-trends?to=${today}`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['x-cache'], url).toBe('HIT');
      expect(res.headers.etag, url).toBe(first.headers.etag);
    }
    const plain = await get('/events');
    const blank = await get('/events?category=&limit=50');
    expect([blank.headers.etag, blank.headers['x-cache']]).toEqual([plain.headers.etag, 'HIT']);
    // Any parameter left empty (as a form sends it) is the default, not a 400.
    const empty = await get('/events?sort=&order=&limit=&offset=&q=');
    expect([empty.statusCode, empty.headers.etag, empty.headers['x-cache']]).toEqual([
      200,
      plain.headers.etag,
      'HIT',
    ]);
    const trends = await get('/booking-trends');
    const emptyWindow = await get('/booking-trends?days=&tz=&as_of=&from=&to=');
    expect([emptyWindow.statusCode, emptyWindow.headers.etag]).toEqual([200, trends.headers.etag]);
    // Not equivalent: another window, another zone.
    expect((await get('/booking-trends?days=7')).headers['x-cache']).toBe('MISS');
    expect((await get('/booking-trends?tz=Asia/Kolkata')).headers['x-cache']).toBe('MISS');
  });

  it('never lets a client revalidate an error into a 304', async () => {
    const missing = await get('/events/99999');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers.etag).toBeUndefined();
  });

  it('compares If-None-Match weakly and takes a list of tags', async () => {
    const first = await get('/system');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"v\d+-/);
    expect((await get('/system', { 'if-none-match': `W/${etag}` })).statusCode).toBe(304);
    expect((await get('/system', { 'if-none-match': `"other", ${etag}` })).statusCode).toBe(304);
    expect((await get('/system', { 'if-none-match': '"other", W/"else"' })).statusCode).toBe(200);
  });

  it('reads Accept with its q-values and says the answer varies with it', async () => {
    const refused = await get('/daily', { accept: 'application/json, text/csv;q=0' });
    expect(refused.headers['content-type']).toContain('application/json');
    const preferred = await get('/daily', { accept: 'application/json;q=0.5, text/csv' });
    expect(preferred.headers['content-type']).toContain('text/csv');
    expect(String(preferred.headers.vary)).toMatch(/(^|, )Accept(,|$)/);
    const browser = await get('/daily', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(browser.headers['content-type']).toContain('application/json');
    // CSV and JSON equally acceptable (the same weight, named or through */*): CSV, as documented
    // (docs/design.md, CSV), since the client named text/csv.
    for (const accept of ['text/csv, */*', 'application/json, text/csv']) {
      const tied = await get('/daily', { accept });
      expect(tied.headers['content-type'], accept).toContain('text/csv');
    }
  });

  it("caches each event's answer under its own path", async () => {
    await ingestHttp(t.app, t.token, [
      eventCreated({
        id: 4242,
        name: 'Second Night',
        category: 'music',
        capacity: 10,
        price: 1,
        createdAt: DAY,
        eventDate: DAY + 30 * 86_400_000,
      }),
    ]);
    const ids = (await get('/events?sort=event_id&order=asc'))
      .json<{ data: { events: { event_id: number }[] } }>()
      .data.events.map((e) => e.event_id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const answers = [];
    for (const id of ids) {
      const first = await get(`/events/${id}`);
      const again = await get(`/events/${id}`);
      expect([first.headers['x-cache'], again.headers['x-cache']], `event ${id}`).toEqual(['MISS', 'HIT']);
      expect(again.json<{ data: { event_id: number } }>().data.event_id).toBe(id);
      answers.push(first.headers.etag);
    }
    expect(new Set(answers).size).toBe(ids.length);
  });

  it('neutralizes an event name a spreadsheet would run as a formula', async () => {
    const name = `-1+cmd|' /C calc'!A0`;
    await ingestHttp(t.app, t.token, [
      eventCreated({
        id: 8,
        name,
        category: 'music',
        capacity: 10,
        price: 5,
        createdAt: DAY,
        eventDate: DAY,
      }),
    ]);
    const csv = await get('/events?format=csv');
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toContain(`8,'-1+cmd|' /C calc'!A0,`);
    expect(csv.body).not.toContain(`,-1+cmd`);
  });

  it('keeps a batch going when one message nests too deep, and says why', async () => {
    const deep = `${'['.repeat(6_000)}1${']'.repeat(6_000)}`;
    const results = await ingestHttp(t.app, t.token, [
      bookingMessage('BookingCreated', jazzNightAround(DAY).booking(4)),
      `{"type":"EventUpdated","event_id":7,"event_data":{"extra":${deep}}}`,
      JSON.stringify({ type: 'constructor', booking_id: 502, event_id: 7, quantity: 1, total_amount: 10 }),
    ]);
    expect(results).toEqual([
      { outcome: 'processed' },
      { outcome: 'rejected', reason: 'invalid_json' },
      { outcome: 'rejected', reason: 'unknown_type' },
    ]);
  });
});
